terraform {
  required_providers { aws = { source = "hashicorp/aws", version = "5.100.0" } }
}
variable "class" { default = "clinical" }
provider "aws" {
  region                      = "eu-west-3"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  default_tags { tags = { owner = "clinic" } }
}
provider "aws" {
  alias = "paris"
  region                      = "eu-west-3"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
resource "aws_s3_bucket" "notes" {
  bucket = "clinic-notes-example"
  tags = { data_class = var.class }
}
resource "aws_s3_bucket" "logs" {
  provider = aws.paris
  bucket = "clinic-logs-example"
}
resource "aws_s3_bucket" "legacy" {
  bucket = "clinic-legacy-example"
  acl    = "public-read"
  tags = { data_class = "administrative" }
}
resource "aws_s3_bucket_logging" "notes" {
  bucket        = aws_s3_bucket.notes.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "notes/"
}
resource "aws_s3_bucket_acl" "logs" {
  provider = aws.paris
  bucket = aws_s3_bucket.logs.id
  acl    = "authenticated-read"
}
resource "aws_kms_key" "k" {
  description = "k"
}
resource "aws_dynamodb_table" "t" {
  name = "t"
  hash_key = "id"
  billing_mode = "PAY_PER_REQUEST"
  attribute {
    name = "id"
    type = "S"
  }
  tags = { data_class = "clinical" }
}
resource "aws_rds_cluster" "aurora" {
  cluster_identifier = "aurora"
  engine = "aurora-postgresql"
  master_username = "u"
  manage_master_user_password = true
  tags = { data_class = "clinical" }
}
resource "aws_rds_cluster_instance" "aurora" {
  count = 2
  identifier = "aurora-${count.index}"
  cluster_identifier = aws_rds_cluster.aurora.id
  instance_class = "db.r6g.large"
  engine = aws_rds_cluster.aurora.engine
  publicly_accessible = count.index == 1
}
resource "aws_db_instance" "db" {
  identifier = "db"
  engine = "postgres"
  instance_class = "db.t3.micro"
  allocated_storage = 20
  username = "u"
  manage_master_user_password = true
  storage_encrypted = true
  tags = { data_class = "clinical" }
}
resource "aws_db_snapshot" "snap" {
  db_instance_identifier = aws_db_instance.db.identifier
  db_snapshot_identifier = "snap"
  shared_accounts = ["all"]
}
resource "aws_db_cluster_snapshot" "csnap" {
  db_cluster_identifier = aws_rds_cluster.aurora.id
  db_cluster_snapshot_identifier = "csnap"
}
resource "aws_ebs_volume" "v" {
  availability_zone = "eu-west-3a"
  size = 10
  encrypted = true
  kms_key_id = aws_kms_key.k.arn
  tags = { data_class = "clinical" }
}
resource "aws_ebs_snapshot" "s" {
  volume_id = aws_ebs_volume.v.id
}
resource "aws_ebs_snapshot_copy" "c" {
  source_snapshot_id = aws_ebs_snapshot.s.id
  source_region = "eu-west-3"
  encrypted = true
}
resource "aws_snapshot_create_volume_permission" "p" {
  snapshot_id = aws_ebs_snapshot.s.id
  account_id  = "444455556666"
}
