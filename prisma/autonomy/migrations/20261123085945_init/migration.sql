-- CreateEnum
CREATE TYPE "autonomy"."AutonomyLevel" AS ENUM ('NO_AI', 'ASSISTED', 'COLLABORATOR', 'EXPERT', 'AGENT');

-- CreateTable
CREATE TABLE "autonomy"."AutonomySetting" (
    "userId" UUID NOT NULL,
    "context" TEXT NOT NULL DEFAULT '',
    "level" "autonomy"."AutonomyLevel" NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AutonomySetting_pkey" PRIMARY KEY ("userId","context")
);
