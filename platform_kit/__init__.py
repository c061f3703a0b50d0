"""platform-kit: provision Kubeflow Pipelines on AWS EKS for many model teams."""
