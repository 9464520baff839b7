-- AlterTable
ALTER TABLE "users"."User" ADD COLUMN     "planTierChangedAt" TIMESTAMP(3);
