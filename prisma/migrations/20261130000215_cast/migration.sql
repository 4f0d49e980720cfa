-- AlterTable
ALTER TABLE "audio_chunks" ADD COLUMN     "speaker" TEXT,
ADD COLUMN     "voice" TEXT;

-- CreateTable
CREATE TABLE "cast_members" (
    "campaign_id" TEXT NOT NULL,
    "name_key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "voice" TEXT NOT NULL,
    "auto" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cast_members_pkey" PRIMARY KEY ("campaign_id","name_key")
);

-- AddForeignKey
ALTER TABLE "cast_members" ADD CONSTRAINT "cast_members_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;
