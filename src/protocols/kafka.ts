/**
 * Apache Kafka wire protocol.
 *
 * Requests: each size-prefixed request, named by its header's api key (`Produce`, `Fetch`,
 * `Metadata`, `ApiVersions`, ...). A Produce with `acks = 0` gets no response (one-way).
 * Responses: each size-prefixed response; the broker answers in order on a connection, and the
 * correlation id of each response must match the oldest waiting request, else framing stops. An
 * error is read only where it is the response's first field (ApiVersions, SaslHandshake,
 * SaslAuthenticate) → `kafka.<error code>`; per-partition errors are not inspected. Client ids,
 * topic names, keys and records are never recorded.
 */
import type { DetectInput, Phase, Recogniser } from './types';
import { ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_SYSTEM } from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { MAX_PENDING } from './limits';
import { FrameReader } from './frame-reader';

const API_NAMES = [
  'Produce',
  'Fetch',
  'ListOffsets',
  'Metadata',
  'LeaderAndIsr',
  'StopReplica',
  'UpdateMetadata',
  'ControlledShutdown',
  'OffsetCommit',
  'OffsetFetch',
  'FindCoordinator',
  'JoinGroup',
  'Heartbeat',
  'LeaveGroup',
  'SyncGroup',
  'DescribeGroups',
  'ListGroups',
  'SaslHandshake',
  'ApiVersions',
  'CreateTopics',
  'DeleteTopics',
  'DeleteRecords',
  'InitProducerId',
  'OffsetForLeaderEpoch',
  'AddPartitionsToTxn',
  'AddOffsetsToTxn',
  'EndTxn',
  'WriteTxnMarkers',
  'TxnOffsetCommit',
  'DescribeAcls',
  'CreateAcls',
  'DeleteAcls',
  'DescribeConfigs',
  'AlterConfigs',
  'AlterReplicaLogDirs',
  'DescribeLogDirs',
  'SaslAuthenticate',
  'CreatePartitions',
  'CreateDelegationToken',
  'RenewDelegationToken',
  'ExpireDelegationToken',
  'DescribeDelegationToken',
  'DeleteGroups',
  'ElectLeaders',
  'IncrementalAlterConfigs',
  'AlterPartitionReassignments',
  'ListPartitionReassignments',
  'OffsetDelete',
  'DescribeClientQuotas',
  'AlterClientQuotas',
  'DescribeUserScramCredentials',
  'AlterUserScramCredentials',
  'Vote',
  'BeginQuorumEpoch',
  'EndQuorumEpoch',
  'DescribeQuorum',
  'AlterPartition',
  'UpdateFeatures',
  'Envelope',
  'FetchSnapshot',
  'DescribeCluster',
  'DescribeProducers',
  'BrokerRegistration',
  'BrokerHeartbeat',
  'UnregisterBroker',
  'DescribeTransactions',
  'ListTransactions',
  'AllocateProducerIds',
  'ConsumerGroupHeartbeat',
  'ConsumerGroupDescribe',
  'ControllerRegistration',
  'GetTelemetrySubscriptions',
  'PushTelemetry',
  'AssignReplicasToDirs',
  'ListClientMetricsResources',
  'DescribeTopicPartitions',
];
/** Version negotiation and SASL are setup; group heartbeats heartbeat; LeaveGroup is teardown. */
const PHASES: Record<number, Phase | undefined> = {
  17: 'setup', // SaslHandshake
  18: 'setup', // ApiVersions
  36: 'setup', // SaslAuthenticate
  12: 'heartbeat', // Heartbeat
  63: 'heartbeat', // BrokerHeartbeat
  68: 'heartbeat', // ConsumerGroupHeartbeat
  13: 'teardown', // LeaveGroup
};
const PRODUCE = 0;
const SASL_HANDSHAKE = 17;
const API_VERSIONS = 18;
const SASL_AUTHENTICATE = 36;
const MAX_FRAME = 100 * 1024 * 1024;

function detect(input: DetectInput): boolean {
  const c = input.client;
  if (c.length < 14) return false;
  const size = c.readInt32BE(0);
  const apiKey = c.readInt16BE(4);
  const apiVersion = c.readInt16BE(6);
  const correlation = c.readInt32BE(8);
  const clientIdLen = c.readInt16BE(12);
  if (size < 10 || size > MAX_FRAME || apiKey < 0 || apiKey >= API_NAMES.length) return false;
  if (apiVersion < 0 || apiVersion > 20 || correlation < 0) return false;
  if (clientIdLen < -1 || 10 + Math.max(0, clientIdLen) > size) return false;
  // A client id, when present in the prefix, is printable.
  for (let i = 14; i < c.length && i < 14 + clientIdLen; i++) if (c[i] < 0x20 || c[i] > 0x7e) return false;
  return true;
}

/** Whether Produce at this version uses the flexible (compact, tagged) encoding. */
function flexibleProduce(version: number): boolean {
  return version >= 9;
}

/** Reads an unsigned varint at `o`; returns [value, next] or undefined beyond `have`. */
function uvarint(h: Buffer, o: number, have: number): [number, number] | undefined {
  let v = 0;
  let mult = 1;
  for (let k = 0; k < 5; k++) {
    if (o >= have) return undefined;
    const b = h[o++];
    v += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return [v, o];
    mult *= 128;
  }
  return undefined;
}

/** Produce's `acks`, or undefined when it lies beyond the prefix. */
function produceAcks(h: Buffer, have: number, version: number): number | undefined {
  let i = 14;
  if (have < i) return undefined;
  const clientIdLen = h.readInt16BE(12);
  i += Math.max(0, clientIdLen);
  if (flexibleProduce(version)) {
    const tags = uvarint(h, i, have); // header tagged fields (count; we only accept none)
    if (tags === undefined || tags[0] !== 0) return undefined;
    const tid = uvarint(h, tags[1], have); // compact nullable transactional id
    if (tid === undefined) return undefined;
    i = tid[1] + Math.max(0, tid[0] - 1);
  } else if (version >= 3) {
    if (i + 2 > have) return undefined;
    i += 2 + Math.max(0, h.readInt16BE(i)); // nullable transactional id
  }
  return i + 2 <= have ? h.readInt16BE(i) : undefined;
}

class KafkaParser extends BaseParser {
  readonly protocol = 'kafka' as const;
  /** Waiting requests: correlation id and api key / version, oldest first (bounded). */
  private readonly pending: number[] = [];
  private readonly creader = new FrameReader(
    600,
    (h, have) => (have < 4 ? -1 : frameLength(h)),
    (h, have) => this.request(h, have),
    undefined,
  );
  private readonly sreader = new FrameReader(
    24,
    (h, have) => (have < 4 ? -1 : frameLength(h)),
    undefined,
    (h, have) => this.response(h, have),
  );

  private request(h: Buffer, have: number): void {
    if (have < 14) return void this.giveUp();
    const apiKey = h.readInt16BE(4);
    const version = h.readInt16BE(6);
    const name = API_NAMES[apiKey];
    if (name === undefined || version < 0) return void this.giveUp();
    const oneWay = apiKey === PRODUCE && produceAcks(h, have, version) === 0;
    const attributes = { [ATTR_MESSAGING_SYSTEM]: 'kafka', [ATTR_MESSAGING_OPERATION_NAME]: name };
    const phase = PHASES[apiKey] ?? 'operation';
    this.reqs = add(
      this.reqs,
      oneWay ? { phase, operation: name, attributes, oneWay } : { phase, operation: name, attributes },
    );
    if (oneWay) return;
    if (this.pending.length >= 3 * MAX_PENDING /* three numbers per request */) return void this.giveUp();
    this.pending.push(h.readInt32BE(8), apiKey, version);
  }

  private response(h: Buffer, have: number): void {
    if (have < 8 || this.pending.length === 0) return void this.giveUp();
    const correlation = this.pending.shift();
    const apiKey = this.pending.shift();
    const version = this.pending.shift() ?? 0;
    if (h.readInt32BE(4) !== correlation) return void this.giveUp();
    let at = -1;
    if (apiKey === API_VERSIONS || apiKey === SASL_HANDSHAKE) at = 8;
    else if (apiKey === SASL_AUTHENTICATE) at = version >= 2 ? 9 : 8; // flexible header: tag count
    const code = at >= 0 && at + 2 <= have ? h.readInt16BE(at) : 0;
    this.resps = add(this.resps, code !== 0 ? { error: `kafka.${code}` } : {});
    // SaslHandshake v0 is followed by raw SASL tokens that are not Kafka requests.
    if (apiKey === SASL_HANDSHAKE && version === 0 && code === 0) this.giveUp();
  }

  protected client(chunk: Buffer): void {
    if (!this.creader.feed(chunk)) return this.giveUp();
  }

  protected server(chunk: Buffer): void {
    if (!this.sreader.feed(chunk)) return this.giveUp();
  }
}

function frameLength(h: Buffer): number {
  const n = h.readInt32BE(0);
  return n >= 4 && n <= MAX_FRAME ? n + 4 : -2;
}

export const kafka: Recogniser = {
  name: 'kafka',
  clientStartsWith: (b) => b <= 0x06 /* high byte of a frame size under 100 MiB */,
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new KafkaParser();
  },
};
