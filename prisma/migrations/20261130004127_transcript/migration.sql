-- CreateTable
CREATE TABLE "transcript_entries" (
    "request_id" TEXT NOT NULL,
    "campaign_id" TEXT NOT NULL,
    "mode" TEXT NOT NULL,
    "requested_by" TEXT,
    "status" TEXT NOT NULL,
    "error" TEXT,
    "lines" JSONB NOT NULL,
    "queued_at" TIMESTAMPTZ(3) NOT NULL,
    "aired_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "transcript_entries_pkey" PRIMARY KEY ("request_id")
);

-- CreateTable
CREATE TABLE "transcript_sessions" (
    "id" TEXT NOT NULL,
    "campaign_id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "title" TEXT,

    CONSTRAINT "transcript_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "transcript_entries_campaign_id_ended_at_idx" ON "transcript_entries"("campaign_id", "ended_at");

-- CreateIndex
CREATE INDEX "transcript_sessions_campaign_id_started_at_idx" ON "transcript_sessions"("campaign_id", "started_at");

-- AddForeignKey
ALTER TABLE "transcript_entries" ADD CONSTRAINT "transcript_entries_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transcript_sessions" ADD CONSTRAINT "transcript_sessions_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;
