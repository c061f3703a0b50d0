# The catalog's runtime image: Python, the pinned libraries the components use, and the kit's
# catalog runtime (platform_kit/catalog/runtime). `platform catalog image` writes this file into a
# build context beside requirements.txt and platform_kit/, fills in the base image, and tags the
# result with the context's content hash, so one tag always names the same contents.
FROM {base_image}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/opt/platform-kit

COPY requirements.txt /opt/platform-kit/requirements.txt
RUN python -m pip install --no-compile --requirement /opt/platform-kit/requirements.txt

COPY platform_kit /opt/platform-kit/platform_kit

# The KFP v2 executor reads and writes artifacts under /gcs, /minio, /s3 and /oci
# (kfp/dsl/types/artifact_types.py); a non-root user needs them to exist and be its own.
RUN useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin runner \
    && mkdir -p /gcs /minio /s3 /oci \
    && chown 10001 /gcs /minio /s3 /oci
USER 10001

# checkov:skip=CKV_DOCKER_2: each pipeline step runs this image once as a batch process; KFP and Kubernetes watch it, so there is no service to health-check
