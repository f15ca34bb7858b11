variable "name" {
  type = string
}

resource "aws_kms_key" "this" {
  enable_key_rotation = true
}

resource "aws_s3_bucket" "this" {
  bucket = var.name
  tags   = { data_class = "clinical" }
}
