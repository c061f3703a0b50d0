# Secrets for authentication in front of Kubeflow. Generated values are written once: the
# random password data source returns a new value on every plan, so the secret versions ignore
# secret_string and a re-plan stays clean. To rotate one, run `terraform apply -replace` on its
# secret version, then restart Dex and oauth2-proxy.

# Client secret of the oauth2-proxy OIDC client, shared by Dex's static client and oauth2-proxy.
data "aws_secretsmanager_random_password" "oauth2_proxy_client_secret" {
  password_length     = 32
  exclude_punctuation = true
}

# oauth2-proxy accepts a cookie secret of exactly 16, 24 or 32 bytes; 32 alphanumerics are 32
# bytes and need no escaping in YAML, environment variables or URLs.
data "aws_secretsmanager_random_password" "oauth2_proxy_cookie_secret" {
  password_length     = 32
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "oauth2_proxy_client_secret" {
  #checkov:skip=CKV2_AWS_57:A static OIDC client secret shared by Dex and oauth2-proxy; rotating it means updating both and restarting them, which no rotation Lambda can do. Rotate with terraform apply -replace on the secret version.
  name        = "${local.secret_path}/oauth2-proxy/client-secret"
  description = "OIDC client secret of oauth2-proxy, shared with Dex's static client (${var.name})"
  kms_key_id  = aws_kms_key.this.arn

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "oauth2_proxy_client_secret" {
  secret_id     = aws_secretsmanager_secret.oauth2_proxy_client_secret.id
  secret_string = data.aws_secretsmanager_random_password.oauth2_proxy_client_secret.random_password

  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "oauth2_proxy_cookie_secret" {
  #checkov:skip=CKV2_AWS_57:Rotating the cookie secret logs every user out and needs an oauth2-proxy restart; rotate with terraform apply -replace on the secret version.
  name        = "${local.secret_path}/oauth2-proxy/cookie-secret"
  description = "Cookie secret of oauth2-proxy, 32 characters (${var.name})"
  kms_key_id  = aws_kms_key.this.arn

  tags = var.tags
}

resource "aws_secretsmanager_secret_version" "oauth2_proxy_cookie_secret" {
  secret_id     = aws_secretsmanager_secret.oauth2_proxy_cookie_secret.id
  secret_string = data.aws_secretsmanager_random_password.oauth2_proxy_cookie_secret.random_password

  lifecycle {
    ignore_changes = [secret_string]
  }
}

# Empty containers for Dex connector credentials (for example a GitHub OAuth app's client
# secret). No version: admins put the value out of band, so it never enters Terraform state.
resource "aws_secretsmanager_secret" "dex_connector" {
  #checkov:skip=CKV2_AWS_57:Filled and rotated out of band by admins together with the identity provider's app registration.
  for_each = toset(var.dex_connector_secret_names)

  name        = "${local.secret_path}/dex/connectors/${each.key}"
  description = "Dex connector secret \"${each.key}\" (${var.name}); value set out of band"
  kms_key_id  = aws_kms_key.this.arn

  tags = var.tags
}
