# The tracking server image: MLflow with the PostgreSQL driver, S3 support and basic auth.
FROM python:3.11-slim
RUN pip install --no-cache-dir "mlflow[auth]>=3.7,<4" "psycopg[binary]>=3.1" "boto3>=1.28"
EXPOSE 5000
