"""The shared component catalog: Kubeflow Pipelines (v2) components every team reuses.

``runtime/`` holds what a component does when it runs (plain Python over boto3, the Kubernetes
client and HTTP), tested directly against the sandbox and HTTP doubles. The component factories
wrap it for KFP; the component image carries this package, so a component body is one call.
"""
