"""What the catalog's components do at run time, importable and testable without KFP.

Each module takes its clients (a boto3 client, a requests session, a Kubernetes API client) as
arguments, so a component builds them from its environment (IRSA credentials, mounted secrets) and
tests hand in clients aimed at the sandbox or a double. Secrets are arguments, never logged.
"""
