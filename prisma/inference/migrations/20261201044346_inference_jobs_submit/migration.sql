-- AlterTable
ALTER TABLE "inference"."InferenceJob" ADD COLUMN     "autonomyContext" TEXT,
ADD COLUMN     "cacheKey" TEXT,
ADD COLUMN     "cached" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "errorCode" TEXT,
ADD COLUMN     "messages" JSONB NOT NULL DEFAULT '[]',
ADD COLUMN     "priority" TEXT NOT NULL DEFAULT 'normal',
ADD COLUMN     "seed" INTEGER,
ADD COLUMN     "stop" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "temperature" DOUBLE PRECISION NOT NULL DEFAULT 1,
ADD COLUMN     "timeToFirstTokenMs" INTEGER,
ADD COLUMN     "tokensPerSecond" DOUBLE PRECISION,
ADD COLUMN     "topP" DOUBLE PRECISION NOT NULL DEFAULT 1;

-- CreateIndex
CREATE INDEX "InferenceJob_userId_status_idx" ON "inference"."InferenceJob"("userId", "status");
