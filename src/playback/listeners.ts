import type {
  ClosedConnectionStatus,
  ConnectionBatch,
  ConnectionRecord,
  Delivery,
  DeliveryField,
  ListenerRecords,
  ListenerWriteOp,
  PlaybackRepository,
} from './repository';

/**
 * {@link ListenerRecords} on the engine's repository: the only writes the web
 * companion can make. Each method issues one {@link ListenerWriteOp}, so the
 * web side never holds a general write (and can't touch request or chunk rows).
 */
export function createListenerRecords(repository: Pick<PlaybackRepository, 'apply'>): ListenerRecords {
  const write = (op: ListenerWriteOp): Promise<void> => repository.apply(op);
  return {
    opened: async (connection: ConnectionRecord) => {
      await write({ op: 'upsertConnection', connection });
      await write({
        op: 'supersedeConnections',
        campaignId: connection.campaignId,
        tokenId: connection.tokenId,
        exceptId: connection.id,
        at: connection.connectedAt,
      });
    },
    heartbeat: (id: string, at: Date) => write({ op: 'touchConnection', id, lastHeartbeat: at }),
    closed: (id: string, status: ClosedConnectionStatus, at: Date) =>
      write({ op: 'closeConnection', id, status, at }),
    recordConnections: (batch: ConnectionBatch) => write({ op: 'recordConnections', batch }),
    recordDeliveries: (field: DeliveryField, deliveries: Delivery[]) =>
      write({ op: 'recordDeliveries', field, deliveries }),
  };
}
