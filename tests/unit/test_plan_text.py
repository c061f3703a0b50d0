"""Reading Terraform's human plan: the plan part, its counts, and each resource's action."""

from __future__ import annotations

from platform_kit.terraform.plan_text import parse, resource_type

OUTPUT = """module.team.aws_iam_role.this: Refreshing state... [id=acme-dev-team-vision]
module.team.aws_s3_bucket.this: Refreshing state... [id=acme-dev-vision]

Note: Objects have changed outside of Terraform

Terraform detected the following changes made outside of Terraform since the
last "terraform apply" which may have affected this plan:

  # module.team.aws_iam_role.this has changed
  ~ resource "aws_iam_role" "this" {
        id   = "acme-dev-team-vision"
      + tags = {
          + "changed-by" = "console"
        }
    }

Terraform used the selected providers to generate the following execution
plan. Resource actions are indicated with the following symbols:
  + create
  - destroy
-/+ destroy and then create replacement

Terraform will perform the following actions:

  # module.team.aws_s3_bucket.this must be replaced
-/+ resource "aws_s3_bucket" "this" {
      ~ bucket = "acme-dev-vision" -> "acme-dev-vision-2" # forces replacement
    }

  # module.team.aws_kms_key.this["a.b"] (deposed object 4c0ffee1) will be destroyed
  - resource "aws_kms_key" "this" {
      - id = "k-1" -> null
    }

  # module.team.aws_iam_policy.extra[0] will be created
  + resource "aws_iam_policy" "extra" {
      + name = "extra"
    }

  # data.aws_iam_policy_document.trust will be read during apply
 <= data "aws_iam_policy_document" "trust" {
    }

Plan: 2 to add, 0 to change, 2 to destroy.

─────────────────────────────────────────────────────────────────────────────

Saved the plan to: /tmp/plan.tfplan

To perform exactly these actions, run the following command to apply:
    terraform apply "/tmp/plan.tfplan"
"""


def test_the_plan_part_its_counts_and_its_actions() -> None:
    plan = parse(OUTPUT)
    assert plan.body.startswith("Note: Objects have changed outside of Terraform")
    assert plan.body.endswith("Plan: 2 to add, 0 to change, 2 to destroy.")
    assert "Refreshing state" not in plan.body and "Saved the plan" not in plan.body
    assert (plan.add, plan.change, plan.destroy) == (2, 0, 2)
    # The drift note's headings say what changed outside; the data source read is not an action.
    assert plan.actions == [
        ("replace", "module.team.aws_s3_bucket.this"),
        ("delete", 'module.team.aws_kms_key.this["a.b"]'),
        ("create", "module.team.aws_iam_policy.extra[0]"),
    ]


def test_no_changes_and_output_only_plans() -> None:
    quiet = parse(
        "aws_s3_bucket.x: Refreshing state... [id=x]\n\nNo changes. Your infrastructure matches the configuration.\n"
    )
    assert quiet.body.startswith("No changes.") and (quiet.add, quiet.change, quiet.destroy) == (0, 0, 0)
    outputs = parse(
        'Changes to Outputs:\n  + role = "arn:x"\n\nYou can apply this plan to save these new output values\n'
    )
    assert outputs.body.startswith("Changes to Outputs:") and outputs.actions == []


def test_resource_types_of_addresses() -> None:
    assert resource_type('module.a["x.y"].aws_s3_bucket.this[0]') == "aws_s3_bucket"
    assert resource_type("aws_kms_key.this") == "aws_kms_key"
    assert resource_type('module.t.aws_iam_role.r["k"]') == "aws_iam_role"
