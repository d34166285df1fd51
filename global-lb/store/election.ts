// The leader-election recipe (etcd's: lowest create revision under the election prefix leads), built on any Store.
import { KEYS } from './store.ts';
import type { Campaign, Fence, KeyValue, Lease, Store, Watch, WatchEvent } from './store.ts';
import { MeshfedError, describeError } from '../../common/errors.ts';
import { storeError } from './errors.ts';

/** Where the candidates of one election live: one key per candidate, named by its lease id. */
export function electionPrefix(election: string): string {
  return `${KEYS.root}election/${election}/`;
}

/** A candidate as seen by an observer. */
export interface Candidate {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
}

/** Picks the leader: the candidate created first. */
export function leaderOf(candidates: Iterable<Candidate>): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates) if (best === undefined || c.createRevision < best.createRevision) best = c;
  return best;
}

/**
 * Applies watch events to a candidate map. A put with version 1 is a creation; a put of an unknown key with a
 * higher version can only come from a stale view, so its modRevision is the best lower bound we have.
 */
export function applyCandidateEvents(candidates: Map<string, Candidate>, events: readonly WatchEvent[]): void {
  for (const ev of events) {
    if (ev.type === 'delete') candidates.delete(ev.key);
    else {
      const known = candidates.get(ev.key);
      candidates.set(ev.key, { key: ev.key, value: ev.value, createRevision: known?.createRevision ?? ev.modRevision });
    }
  }
}

/**
 * Follows the candidate set of an election: lists, then watches from the list's revision. When the watch cannot
 * resume (compaction), it relists. onChange sees the full candidate map after each change.
 */
export async function followElection(
  store: Store,
  election: string,
  onChange: (candidates: ReadonlyMap<string, Candidate>) => void,
): Promise<Watch> {
  const prefix = electionPrefix(election);
  let cancelled = false;
  let current: Watch | undefined;
  const candidates = new Map<string, Candidate>();
  const load = async (): Promise<void> => {
    const listed = await store.list(prefix);
    candidates.clear();
    for (const kv of listed.items) candidates.set(kv.key, toCandidate(kv));
    onChange(candidates);
    current = await store.watchPrefix(
      prefix,
      (events) => {
        if (cancelled) return;
        applyCandidateEvents(candidates, events);
        onChange(candidates);
      },
      {
        fromRevision: listed.revision + 1,
        onError: () => {
          if (cancelled) return;
          void current?.cancel();
          relist();
        },
      },
    );
    if (cancelled) await current.cancel();
  };
  const relist = (): void => {
    load().catch(() => {
      // The store is unreachable: try again shortly; the observer keeps its last view meanwhile.
      if (!cancelled) setTimeout(relist, 500).unref();
    });
  };
  await load();
  return {
    async cancel() {
      cancelled = true;
      await current?.cancel();
    },
  };
}

function toCandidate(kv: KeyValue): Candidate {
  return { key: kv.key, value: kv.value, createRevision: kv.createRevision };
}

/** Reports the leader's published id now and whenever it changes. */
export async function observeLeaderOn(
  store: Store,
  election: string,
  onChange: (leaderId: string | undefined) => void,
): Promise<Watch> {
  let last: string | undefined | null = null; // null: nothing reported yet
  return followElection(store, election, (candidates) => {
    const leader = leaderOf(candidates.values())?.value;
    if (leader !== last) {
      last = leader;
      onChange(leader);
    }
  });
}

/**
 * Runs one candidate's campaign.
 * Invariant: state only moves forward: starting -> candidate -> leader -> ended (any state may jump to ended).
 * Invariant: onLost listeners fire exactly once, when the state becomes ended.
 * While starting, store failures are retried every retryMs until resign; a lost lease ends the campaign.
 */
export function campaignOn(
  store: Store,
  election: string,
  candidateId: string,
  ttlSeconds: number,
  retryMs = 500,
): Campaign {
  let state: 'starting' | 'candidate' | 'leader' | 'ended' = 'starting';
  let lease: Lease | undefined;
  let myKey: string | undefined;
  let myFence: Fence | undefined;
  let everLed = false;
  let follower: Watch | undefined;
  let endReason: string | undefined;
  const lostListeners: ((reason: string) => void)[] = [];
  let resolveElected!: () => void;
  let rejectElected!: (e: Error) => void;
  const elected = new Promise<void>((resolve, reject) => {
    resolveElected = resolve;
    rejectElected = reject;
  });
  // A campaign that ends before election rejects `elected`; callers that only use onLost must not crash.
  elected.catch(() => undefined);

  const ended = (): boolean => state === 'ended';
  const end = (reason: string): void => {
    if (state === 'ended') return;
    state = 'ended';
    endReason = reason;
    rejectElected(storeError('MESHFED_E_STORE_CAMPAIGN_ENDED', `campaign for ${election} ended: ${reason}`));
    void follower?.cancel().catch(() => undefined);
    for (const l of lostListeners.splice(0)) l(reason);
  };

  const onCandidates = (candidates: ReadonlyMap<string, Candidate>): void => {
    if (state === 'ended' || myKey === undefined) return;
    if (!candidates.has(myKey)) {
      end('candidate key was deleted');
      void lease?.revoke().catch(() => undefined);
      return;
    }
    if (state === 'candidate' && leaderOf(candidates.values())?.key === myKey) {
      state = 'leader';
      everLed = true;
      resolveElected();
    }
  };

  const start = async (): Promise<void> => {
    if (lease === undefined) {
      const granted = await store.grantLease(ttlSeconds);
      if (state === 'ended') {
        await granted.revoke().catch(() => undefined);
        return;
      }
      lease = granted;
      granted.onLost(() => end('lease lost'));
      granted.startKeepAlive();
    }
    const key = `${electionPrefix(election)}${lease.id}`;
    const written = await store.compareAndSwap(key, 0, candidateId, { lease: lease.id });
    // A retry after a timed-out write may find our own key already there.
    if (!written.ok && written.error.current?.lease !== lease.id) {
      throw storeError('MESHFED_E_STORE_CONFLICT', `candidate key ${key} is held by another lease`);
    }
    if (state === 'ended') return;
    myKey = key;
    myFence = { key, createRevision: written.ok ? written.value : written.error.current!.createRevision };
    state = 'candidate';
    follower = await followElection(store, election, onCandidates);
    // resign() or a lost lease may have ended the campaign while the follower was starting.
    if (ended()) await follower.cancel();
  };

  const attempt = (): void => {
    start().catch((e: unknown) => {
      if (state !== 'starting') return;
      if (!(e instanceof MeshfedError && e.code === 'MESHFED_E_STORE_UNAVAILABLE')) {
        end(`campaign failed: ${describeError(e)}`);
        return;
      }
      setTimeout(() => {
        if (state === 'starting') attempt();
      }, retryMs).unref();
    });
  };
  attempt();

  return {
    elected,
    isLeader: () => state === 'leader',
    // Kept after the end too: a fenced write with it then fails in the store, which is the point of fencing.
    fence: () => (state === 'leader' || (state === 'ended' && myFence !== undefined && everLed) ? myFence : undefined),
    onLost(listener) {
      if (state === 'ended') queueMicrotask(() => listener(endReason ?? 'ended'));
      else lostListeners.push(listener);
    },
    async resign() {
      if (state === 'ended') return;
      const held = lease;
      end('resigned');
      if (held !== undefined) await held.revoke();
    },
  };
}
