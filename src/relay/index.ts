/**
 * Publishing stations beyond this process: each station's live MP3 pushed to
 * an Icecast server as a source client, so Icecast (and its relays, or a CDN)
 * carries it to any number of listeners.
 */
export {
  ICECAST_STREAM_LIMITS,
  mountOf,
  startIcecastPublisher,
  type IcecastPublisher,
  type IcecastPublisherOptions,
} from './icecast-publisher';
export {
  DEFAULT_BACKOFF,
  IcecastSource,
  IcecastSourceStatus,
  type Backoff,
  type IcecastSourceEvents,
  type IcecastSourceOptions,
  type IcecastSourceState,
  type IcecastTarget,
} from './icecast-source';
