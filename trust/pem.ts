// PEM splitting, serial numbers and X.509 constants, without @peculiar/x509: what the data plane needs stays light.

/** The certificates in PEM text, each as its own PEM block with a trailing newline. */
export function splitPem(text: string): string[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((s) => s + '\n');
}

/** A serial number as lowercase hex without separators or leading zeros, so "0A:1b" and "a1b" compare equal. */
export function normalizeSerial(serial: string): string {
  const hex = serial.toLowerCase().replace(/[^0-9a-f]/g, '').replace(/^0+/, '');
  return hex === '' ? '0' : hex;
}

/** Extension OIDs used across trust/. */
export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Key usage bits as @peculiar/asn1-x509's KeyUsage.toNumber() reports them (RFC 5280 4.2.1.3, bit 0 first). */
export const KEY_USAGE = { digitalSignature: 1, keyCertSign: 32 } as const;
