"""Reading a state document's resource addresses, the way the team stack's orphans are found."""

from __future__ import annotations

from platform_kit import team_orphans


def test_addresses_name_every_managed_instance_with_its_index() -> None:
    state = {
        "resources": [
            {"module": "module.team", "mode": "managed", "type": "aws_iam_role", "name": "this", "instances": [{}]},
            {
                "module": "module.team",
                "mode": "managed",
                "type": "aws_ecr_repository",
                "name": "this",
                "instances": [{"index_key": 0}],
            },
            {"mode": "managed", "type": "aws_s3_object", "name": "marker", "instances": [{"index_key": "a b"}]},
            {"module": "module.team", "mode": "data", "type": "aws_region", "name": "current", "instances": [{}]},
            {"module": "module.team", "mode": "managed", "type": "aws_iam_role", "name": "gone", "instances": []},
        ]
    }
    assert team_orphans.addresses(state) == {
        "module.team.aws_iam_role.this",
        "module.team.aws_ecr_repository.this[0]",
        'aws_s3_object.marker["a b"]',
    }
    assert team_orphans.addresses(None) == set()


def test_an_object_in_the_state_is_never_looked_up() -> None:
    looked_up: list[str] = []

    def reader(tags):
        def read():
            looked_up.append("read")
            return tags

        return read

    named = [
        team_orphans.Named("module.team.aws_iam_role.this", "r", "IAM role r", reader({"team": "x"})),
        team_orphans.Named("module.team.aws_iam_policy.this", "p", "IAM policy p", reader(None)),
        team_orphans.Named(
            "module.team.aws_ecr_repository.this[0]",
            "e",
            "ECR repository e",
            reader({"team": "vision", "platform-env": "sandbox"}),
        ),
    ]
    state = {"resources": [{"module": "module.team", "mode": "managed", "type": "aws_iam_role", "name": "this",
                            "instances": [{}]}]}  # fmt: skip
    orphans = team_orphans.find(named, state, "vision", "sandbox")
    assert [o.what for o in orphans] == ["ECR repository e"]
    assert looked_up == ["read", "read"]  # the role in the state was not read


def test_a_taken_name_tagged_for_another_team_is_refused() -> None:
    import pytest

    from platform_kit.errors import OperationFailed

    named = [team_orphans.Named("module.team.aws_iam_role.this", "r", "IAM role r", lambda: {"team": "lidar"})]
    with pytest.raises(OperationFailed, match=r"IAM role r already exists \(tagged for team 'lidar'\)"):
        team_orphans.find(named, None, "vision", "sandbox")
