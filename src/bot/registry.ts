import type { RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { Command } from './command';

/** A name was registered twice. */
export class DuplicateCommandError extends Error {
  constructor(readonly commandName: string) {
    super(`command /${commandName} is registered twice`);
    this.name = 'DuplicateCommandError';
  }
}

/** The bot's slash commands by name. */
export class CommandRegistry {
  readonly #commands = new Map<string, Command>();

  constructor(commands: Iterable<Command>) {
    for (const c of commands) {
      if (this.#commands.has(c.data.name)) throw new DuplicateCommandError(c.data.name);
      this.#commands.set(c.data.name, c);
    }
  }

  get(name: string): Command | undefined {
    return this.#commands.get(name);
  }

  /** Commands in registration order. */
  all(): Command[] {
    return [...this.#commands.values()];
  }

  /** The body for Discord's bulk-overwrite endpoint (deploy-commands). */
  toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
    return this.all().map((c) => c.data.toJSON());
  }
}
