# The inference service image: edm with a CPU build of torch, running `edm serve`.
# Built from the repository root: docker compose -f deploy/docker-compose.yml build edm
FROM python:3.11-slim
WORKDIR /app
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --create-home edm
USER edm
EXPOSE 8000
CMD ["edm", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
