# One image for all five apps (gateway, clients, policies, claims, devices) and the migrations;
# the command picks what runs (see docker-compose.yml). Default: the gateway on port 8000.

FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock ./
# Exactly the locked runtime dependencies; no dev tools in the image.
RUN uv sync --locked --no-dev --no-install-project

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CRM_ENVIRONMENT=production
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY crmkit ./crmkit
COPY launcher ./launcher
COPY services ./services
COPY gateway ./gateway
# docs/api.md is served: a page per problem type (gateway/problem_pages.py).
COPY docs ./docs
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin crm
USER crm
EXPOSE 8000
# Forwarded headers are honoured only from CRM_TRUSTED_PROXIES (empty: none), see launcher/serve.py.
CMD ["python", "-m", "launcher.serve", "gateway.main:app", "--host", "0.0.0.0", "--port", "8000"]
