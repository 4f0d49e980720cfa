/** The loopback's own REST rules: Discord's error answers where the timing says so. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  CALLBACK_DEADLINE_MS,
  DiscordError,
  TOKEN_LIFETIME_MS,
  type LoopbackInteraction,
} from './interactions';
import { LoopbackDiscord } from './loopback';

let loopback: LoopbackDiscord;
beforeAll(async () => {
  loopback = await LoopbackDiscord.start();
});
afterAll(() => loopback?.close());

const post = (path: string, body: unknown, method = 'POST') =>
  fetch(`${loopback.apiUrl}/v10${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }).then(async (r) => ({
    status: r.status,
    body: (await r.json().catch(() => null)) as { code?: number } | null,
  }));

it('answers 10062 to a callback later than 3 s, 40060 to a second one, 50027 to an edit after 15 minutes', async () => {
  // No gateway session is needed: the records are made directly.
  const make = (createdAt: number) => {
    const i: LoopbackInteraction = {
      id: String(loopback.interactions.length + 1),
      token: `t${loopback.interactions.length + 1}`,
      guildId: loopback.guild().id,
      userId: loopback.guild().dm.id,
      command: 'say',
      options: {},
      createdAt,
      sentAt: createdAt,
      events: [],
    };
    loopback.interactions.push(i);
    return i;
  };
  const late = make(loopback.now() - CALLBACK_DEADLINE_MS - 1);
  expect((await post(`/interactions/${late.id}/${late.token}/callback`, { type: 5 })).body?.code).toBe(
    DiscordError.UnknownInteraction,
  );

  const i = make(loopback.now());
  expect(
    (await post(`/interactions/${i.id}/${i.token}/callback`, { type: 5, data: { flags: 64 } })).status,
  ).toBe(204);
  expect((await post(`/interactions/${i.id}/${i.token}/callback`, { type: 5 })).body?.code).toBe(
    DiscordError.AlreadyAcknowledged,
  );
  const edit = `/webhooks/${loopback.applicationId}/${i.token}/messages/%40original`;
  const ok = await post(edit, { content: 'on air' }, 'PATCH');
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ content: 'on air', flags: 64 });

  loopback.clockOffsetMs = TOKEN_LIFETIME_MS + 1;
  try {
    expect((await post(edit, { content: 'too late' }, 'PATCH')).body?.code).toBe(
      DiscordError.InvalidWebhookToken,
    );
  } finally {
    loopback.clockOffsetMs = 0;
  }
  expect(i.events.map((e) => e.kind)).toEqual(['callback', 'rejected', 'edit', 'rejected']);
});
