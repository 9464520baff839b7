-- CreateEnum
CREATE TYPE "inference"."JobStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateTable
CREATE TABLE "inference"."Model" (
    "id" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "backend" TEXT NOT NULL,
    "contextWindow" INTEGER NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inference"."InferenceJob" (
    "id" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "modelId" TEXT NOT NULL,
    "prompt" TEXT NOT NULL,
    "maxTokens" INTEGER NOT NULL,
    "status" "inference"."JobStatus" NOT NULL DEFAULT 'QUEUED',
    "autonomyLevel" TEXT NOT NULL,
    "output" TEXT NOT NULL DEFAULT '',
    "tokensIn" INTEGER NOT NULL DEFAULT 0,
    "tokensOut" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "InferenceJob_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "InferenceJob_userId_createdAt_idx" ON "inference"."InferenceJob"("userId", "createdAt");

-- AddForeignKey
ALTER TABLE "inference"."InferenceJob" ADD CONSTRAINT "InferenceJob_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "inference"."Model"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
