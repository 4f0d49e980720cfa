-- CreateEnum
CREATE TYPE "RequestStatus" AS ENUM ('PENDING', 'PLAYING', 'PLAYED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "GenerationStatus" AS ENUM ('PENDING', 'GENERATING', 'GENERATED', 'FAILED');

-- CreateEnum
CREATE TYPE "ChunkStatus" AS ENUM ('READY', 'PLAYING', 'PLAYED', 'SKIPPED');

-- CreateEnum
CREATE TYPE "ConnectionKind" AS ENUM ('PLAYER', 'DM');

-- CreateEnum
CREATE TYPE "ConnectionStatus" AS ENUM ('CONNECTED', 'DISCONNECTED', 'FAILED', 'SUPERSEDED');

-- CreateTable
CREATE TABLE "campaigns" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "guild_id" TEXT,
    "voice_channel_id" TEXT,
    "text_channel_id" TEXT,
    "dm_role_id" TEXT,
    "tts_voice" TEXT,
    "idle_timeout_sec" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "campaigns_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audio_playback_requests" (
    "id" TEXT NOT NULL,
    "campaign_id" TEXT NOT NULL,
    "queue_seq" INTEGER NOT NULL,
    "mode" TEXT NOT NULL DEFAULT 'say',
    "text" TEXT NOT NULL,
    "status" "RequestStatus" NOT NULL DEFAULT 'PENDING',
    "generation" "GenerationStatus" NOT NULL DEFAULT 'PENDING',
    "error" TEXT,
    "total_chunks" INTEGER,
    "voice" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "audio_playback_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audio_chunks" (
    "id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "sequence_number" INTEGER NOT NULL,
    "status" "ChunkStatus" NOT NULL DEFAULT 'READY',
    "text" TEXT NOT NULL,
    "opus_key" TEXT NOT NULL,
    "opus_size_bytes" INTEGER NOT NULL,
    "mp3_key" TEXT NOT NULL,
    "mp3_size_bytes" INTEGER NOT NULL,
    "mime_type" TEXT NOT NULL DEFAULT 'audio/mpeg',
    "duration_ms" DOUBLE PRECISION NOT NULL,
    "sample_count" INTEGER NOT NULL,
    "frame_count" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "played_at" TIMESTAMPTZ(3),

    CONSTRAINT "audio_chunks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "websocket_connections" (
    "id" TEXT NOT NULL,
    "campaign_id" TEXT NOT NULL,
    "token_id" TEXT NOT NULL,
    "kind" "ConnectionKind" NOT NULL,
    "status" "ConnectionStatus" NOT NULL DEFAULT 'CONNECTED',
    "connected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disconnected_at" TIMESTAMPTZ(3),

    CONSTRAINT "websocket_connections_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "connection_playback_states" (
    "connection_id" TEXT NOT NULL,
    "chunk_id" TEXT NOT NULL,
    "sent_at" TIMESTAMPTZ(3),
    "acknowledged_at" TIMESTAMPTZ(3),
    "played_at" TIMESTAMPTZ(3),

    CONSTRAINT "connection_playback_states_pkey" PRIMARY KEY ("connection_id","chunk_id")
);

-- CreateIndex
CREATE INDEX "campaigns_guild_id_idx" ON "campaigns"("guild_id");

-- CreateIndex
CREATE INDEX "audio_playback_requests_campaign_id_status_queue_seq_idx" ON "audio_playback_requests"("campaign_id", "status", "queue_seq");

-- CreateIndex
CREATE UNIQUE INDEX "audio_playback_requests_campaign_id_queue_seq_key" ON "audio_playback_requests"("campaign_id", "queue_seq");

-- CreateIndex
CREATE INDEX "audio_chunks_status_played_at_idx" ON "audio_chunks"("status", "played_at");

-- CreateIndex
CREATE UNIQUE INDEX "audio_chunks_request_id_sequence_number_key" ON "audio_chunks"("request_id", "sequence_number");

-- CreateIndex
CREATE INDEX "websocket_connections_campaign_id_token_id_status_idx" ON "websocket_connections"("campaign_id", "token_id", "status");

-- CreateIndex
CREATE INDEX "websocket_connections_status_last_heartbeat_idx" ON "websocket_connections"("status", "last_heartbeat");

-- CreateIndex
CREATE INDEX "connection_playback_states_chunk_id_idx" ON "connection_playback_states"("chunk_id");

-- AddForeignKey
ALTER TABLE "audio_playback_requests" ADD CONSTRAINT "audio_playback_requests_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audio_chunks" ADD CONSTRAINT "audio_chunks_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "audio_playback_requests"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "websocket_connections" ADD CONSTRAINT "websocket_connections_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connection_playback_states" ADD CONSTRAINT "connection_playback_states_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "websocket_connections"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "connection_playback_states" ADD CONSTRAINT "connection_playback_states_chunk_id_fkey" FOREIGN KEY ("chunk_id") REFERENCES "audio_chunks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

