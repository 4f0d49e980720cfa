-- CreateTable
CREATE TABLE "scenes" (
    "id" TEXT NOT NULL,
    "campaign_id" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'RENDERING',
    "error" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "duration_ms" DOUBLE PRECISION,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "scenes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "scene_chunks" (
    "scene_id" TEXT NOT NULL,
    "sequence_number" INTEGER NOT NULL,
    "text" TEXT NOT NULL,
    "speaker" TEXT,
    "voice" TEXT NOT NULL,
    "opus_key" TEXT NOT NULL,
    "mp3_key" TEXT NOT NULL,
    "duration_ms" DOUBLE PRECISION NOT NULL,
    "sample_count" INTEGER NOT NULL,
    "frame_count" INTEGER NOT NULL,

    CONSTRAINT "scene_chunks_pkey" PRIMARY KEY ("scene_id","sequence_number")
);

-- CreateIndex
CREATE UNIQUE INDEX "scenes_campaign_id_name_key_key" ON "scenes"("campaign_id", "name_key");

-- AddForeignKey
ALTER TABLE "scenes" ADD CONSTRAINT "scenes_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scene_chunks" ADD CONSTRAINT "scene_chunks_scene_id_fkey" FOREIGN KEY ("scene_id") REFERENCES "scenes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
