# LeadCRM's one image: compose.yaml runs it as web, worker, beat and the release step
# (bin/serve.sh names each command). See docs/deployment.md.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 LEADCRM_VAR_DIR=/app/var
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN useradd --system --home /app leadcrm && mkdir -p var && chown -R leadcrm var
USER leadcrm
EXPOSE 8000
CMD ["bin/serve.sh", "web"]
