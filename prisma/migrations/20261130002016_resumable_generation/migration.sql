-- AlterTable
ALTER TABLE "audio_playback_requests" ADD COLUMN     "script" TEXT,
ADD COLUMN     "script_complete" BOOLEAN NOT NULL DEFAULT false;
