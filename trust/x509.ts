// The one place @peculiar/x509 is loaded: reflect-metadata first, then node's WebCrypto as its provider.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<x509.CryptoProvider["set"]>[1]);

export { x509 };

/** WebCrypto types under their DOM names (the project compiles without the DOM lib). */
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Node's WebCrypto. */
export const subtle = webcrypto.subtle;

