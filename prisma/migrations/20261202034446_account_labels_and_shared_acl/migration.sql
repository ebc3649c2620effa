-- AlterTable
ALTER TABLE "connected_accounts" ADD COLUMN     "acl_allow_all_users" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "acl_allowed_user_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "acl_not_allowed_user_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "labels" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE INDEX "connected_accounts_labels_idx" ON "connected_accounts" USING GIN ("labels");
