# One image for every Python component of the HHPU Platform. The command chooses the process:
#   API:      uvicorn <pkg>.app:create_app --factory --host 0.0.0.0 --port 8000
#   consumer: python -m <pkg>.consumer
#   gateway:  uvicorn gateway.app:create_app --factory --host 0.0.0.0 --port 8000   (the default CMD)
# <pkg> is referral_api, ranking_service, case_service or meeting_service.
# Build: docker build -t hhpu-platform:0.1.0 .
# A force behind a mirror passes --build-arg PIP_INDEX_URL=... (nothing is hard-wired here).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ARG PIP_INDEX_URL
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/hhpu
ENV PATH=/opt/hhpu/bin:$PATH
WORKDIR /src
# Third-party dependencies first (exact pins, own layer: rebuilt only when the pins change).
COPY requirements/pins.txt requirements/pins.txt
RUN pip install -r requirements/pins.txt
# Then the workspace packages, without resolving anything again.
COPY shared shared
COPY services services
COPY gateway gateway
COPY hhpu hhpu
RUN pip install --no-deps \
        ./shared \
        ./services/referral-api \
        ./services/ranking-service \
        ./services/case-service \
        ./services/meeting-service \
        ./gateway \
        ./hhpu \
    && python -c "import hhpu_shared, referral_api, ranking_service, case_service, meeting_service, gateway, hhpu" \
    && python -m compileall -q /opt/hhpu

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="hhpu-platform" \
      org.opencontainers.image.description="HHPU Platform services, consumers, gateway and CLI"
# Pango and a font for WeasyPrint (printable meeting packs and reports as PDF).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 hhpu \
    && useradd --system --uid 10001 --gid hhpu --home-dir /app --no-create-home --shell /usr/sbin/nologin hhpu \
    && mkdir -p /app \
    && chown hhpu:hhpu /app
COPY --from=build /opt/hhpu /opt/hhpu
ENV PATH=/opt/hhpu/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HHPU_DATA_DIR=/tmp/hhpu-data
WORKDIR /app
USER 10001:10001
EXPOSE 8000
CMD ["uvicorn", "gateway.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
