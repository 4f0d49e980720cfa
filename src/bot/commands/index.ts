import type { Command } from '../command';
import { campaignCommand } from './campaign';
import { castCommand } from './cast';
import { joinCommand } from './join';
import { leaveCommand } from './leave';
import { listenCommand } from './listen';
import { narrateCommand } from './narrate';
import { pauseCommand } from './pause';
import { queueCommand } from './queue';
import { recapCommand } from './recap';
import { resumeCommand } from './resume';
import { sayCommand } from './say';
import { sceneCommand } from './scene';
import { skipCommand } from './skip';
import { stopCommand } from './stop';
import { transcriptCommand } from './transcript';
import { voiceCommand } from './voice';

export {
  campaignCommand,
  castCommand,
  joinCommand,
  leaveCommand,
  listenCommand,
  narrateCommand,
  pauseCommand,
  queueCommand,
  recapCommand,
  resumeCommand,
  sayCommand,
  sceneCommand,
  skipCommand,
  stopCommand,
  transcriptCommand,
  voiceCommand,
};

/** Every Bardcast slash command, in the order Discord lists them. */
export const ALL_COMMANDS: readonly Command[] = [
  narrateCommand,
  sayCommand,
  joinCommand,
  leaveCommand,
  skipCommand,
  stopCommand,
  pauseCommand,
  resumeCommand,
  queueCommand,
  voiceCommand,
  listenCommand,
  campaignCommand,
  castCommand,
  sceneCommand,
  transcriptCommand,
  recapCommand,
];
