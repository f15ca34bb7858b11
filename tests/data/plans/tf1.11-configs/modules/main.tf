terraform {
  required_providers { aws = { source = "hashicorp/aws", version = "5.100.0" } }
}
variable "default_tags" {
  type    = map(string)
  default = { data_class = "administrative", team = "billing" }
}
provider "aws" {
  region                      = "eu-west-3"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  default_tags { tags = var.default_tags }
}
provider "aws" {
  alias                       = "london"
  region                      = "eu-west-2"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
module "clinical" {
  source = "./modules/store"
  name   = "clinic-scans-example"
  class  = "clinical"
}
module "exports" {
  source    = "./modules/store"
  providers = { aws = aws.london }
  name      = "clinic-exports-example"
  class     = null
}
resource "aws_s3_bucket" "plain" {
  bucket = "clinic-plain-example"
}
resource "aws_s3_bucket_public_access_block" "plain" {
  bucket                  = aws_s3_bucket.plain.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
