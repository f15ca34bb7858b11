# The clinic's storage: the configuration behind plan.json (locations only; not applied).

provider "aws" {
  region = "eu-west-3"
}

resource "aws_kms_key" "clinical" {
  description         = "clinical notes"
  enable_key_rotation = true
  tags                = { data_class = "clinical" }
}

resource "aws_s3_bucket" "notes" {
  bucket = "exemplum-notes"
  tags   = { data_class = "clinical" }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "notes" {
  bucket = aws_s3_bucket.notes.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.clinical.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket" "archive" {
  bucket = "exemplum-archive"
  tags   = { data_class = "clinical" }
}

resource "aws_db_instance" "patients" {
  identifier        = "patients"
  engine            = "postgres"
  engine_version    = "16.3"
  storage_encrypted = true
  password          = var.db_password
  tags              = { data_class = "clinical" }
}

module "scans" {
  source = "./modules/scans"
  name   = "exemplum-scans"
}
