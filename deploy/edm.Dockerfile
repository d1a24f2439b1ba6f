# The inference service image: edm with a CPU build of torch, running `edm serve`.
# Built from the repository root: docker compose -f deploy/docker-compose.yml build edm
FROM python:3.11-slim
WORKDIR /app
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY src ./src
# The build context has no git history, from which setuptools-scm takes the version: pass it,
# e.g. --build-arg EDM_VERSION="$(edm --version | cut -d" " -f2)" (without it: 0.0.0).
ARG EDM_VERSION=0.0.0
RUN SETUPTOOLS_SCM_PRETEND_VERSION_FOR_EDM_STRUCTURE=$EDM_VERSION pip install --no-cache-dir . \
    && useradd --create-home edm \
    && install -d -o edm /var/lib/edm/traffic
USER edm
EXPOSE 8000
CMD ["edm", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
