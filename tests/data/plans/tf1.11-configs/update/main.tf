terraform {
  required_providers { aws = { source = "hashicorp/aws", version = "5.100.0" } }
}
provider "aws" {
  region                      = "eu-west-3"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
resource "aws_s3_bucket" "records" {
  bucket = "clinic-records-example"
  tags   = { data_class = "clinical", owner = "records" }
}
resource "aws_s3_bucket_versioning" "records" {
  bucket = aws_s3_bucket.records.id
  versioning_configuration { status = "Enabled" }
}
resource "aws_db_instance" "db" {
  identifier          = "records"
  engine              = "postgres"
  instance_class      = "db.t3.small"
  allocated_storage   = 20
  username            = "app"
  manage_master_user_password = true
  storage_encrypted   = true
  tags = { data_class = "clinical" }
}
