"""Pure rendering: validated config in, artefacts out (Terraform inputs, Kustomize builds). No I/O to clouds."""
