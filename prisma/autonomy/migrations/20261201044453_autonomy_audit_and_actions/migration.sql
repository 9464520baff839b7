-- CreateEnum
CREATE TYPE "autonomy"."ActionStatus" AS ENUM ('PENDING', 'APPROVED', 'REJECTED', 'AUTO_APPROVED');

-- CreateTable
CREATE TABLE "autonomy"."AutonomyChange" (
    "id" BIGSERIAL NOT NULL,
    "userId" UUID NOT NULL,
    "actor" TEXT NOT NULL,
    "context" TEXT NOT NULL,
    "oldLevel" "autonomy"."AutonomyLevel",
    "newLevel" "autonomy"."AutonomyLevel",
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AutonomyChange_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "autonomy"."AutonomyAction" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "userId" UUID NOT NULL,
    "jobId" UUID NOT NULL,
    "context" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "arguments" TEXT NOT NULL,
    "proposedAt" TIMESTAMP(3) NOT NULL,
    "status" "autonomy"."ActionStatus" NOT NULL DEFAULT 'PENDING',
    "reason" TEXT,
    "decidedBy" TEXT,
    "decidedAt" TIMESTAMP(3),
    "publishedAt" TIMESTAMP(3),

    CONSTRAINT "AutonomyAction_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AutonomyChange_userId_id_idx" ON "autonomy"."AutonomyChange"("userId", "id");

-- CreateIndex
CREATE UNIQUE INDEX "AutonomyAction_seq_key" ON "autonomy"."AutonomyAction"("seq");

-- CreateIndex
CREATE INDEX "AutonomyAction_userId_status_seq_idx" ON "autonomy"."AutonomyAction"("userId", "status", "seq");

-- CreateIndex
CREATE INDEX "AutonomyAction_publishedAt_status_idx" ON "autonomy"."AutonomyAction"("publishedAt", "status");
