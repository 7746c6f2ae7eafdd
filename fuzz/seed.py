#!/usr/bin/env python3
"""Writes the seed inputs of each fuzz target into fuzz/corpus/<target>/ from the project's own fixtures,
templates and example config (run from the repository's root; existing files are kept). See docs/fuzzing.md."""
import glob, hashlib, json, os, urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def inbound():
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/inbound/*/*.json"))):
        app = os.path.basename(os.path.dirname(path))
        body = open(path, "rb").read()
        put("inbound", f"{app}\napplication/json\n".encode() + body)
        if app == "plex":
            part = (b"--hookarrseed\r\nContent-Disposition: form-data; name=\"payload\"\r\n"
                    b"Content-Type: application/json\r\n\r\n" + body +
                    b"\r\n--hookarrseed\r\nContent-Disposition: form-data; name=\"thumb\"; filename=\"t.jpg\"\r\n"
                    b"Content-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0JFIF\r\n--hookarrseed--\r\n")
            put("inbound", b"plex\nmultipart/form-data; boundary=hookarrseed\n" + part)
        if app == "emby":
            form = urllib.parse.urlencode({"data": body.decode()})
            put("inbound", "emby\napplication/x-www-form-urlencoded\n" + form)
        if app in ("jellyfin", "apprise"):
            fields = {k: v if isinstance(v, str) else json.dumps(v)
                      for k, v in json.loads(body).items()}
            put("inbound", f"{app}\napplication/x-www-form-urlencoded\n" + urllib.parse.urlencode(fields))


def config():
    put("config", open(os.path.join(ROOT, "config/hookarr.example.yaml"), "rb").read())
    put("config", "sources:\n  - name: radarr-4k\n    app: radarr\n    token: ${RADARR_TOKEN}\n")
    put("config", "destinations:\n  - name: d\n    url: discord://1234/abcd\n    events: [\"download.*\"]\n")


def apprise_url():
    for url in ["discord://123456/abcdefTOKEN", "tgram://123:ABC/-1001234", "tgram://123:ABC/-100123:7",
                "ntfy://alerts", "ntfys://user:pass@ntfy.example.com/alerts?priority=high&tags=tv",
                "gotify://gotify.example.com/AbCdEf", "gotifys://h:8443/path/Tok?priority=8",
                "pover://userkey@apptoken?sound=magic&priority=1", "matrix://user:pass@matrix.org/#room:matrix.org",
                "matrixs://token@matrix.example.com/!abc:example.com", "mailto://user:pass@mail.example.com?to=a@b.c",
                "mailtos://smtp.example.com:465?from=h@x.y&to=a@b.c,d@e.f", "slack://T000/B000/XXXX",
                "slack://T000/B000/XXXX/#media"]:
        put("apprise_url", url)


def render():
    snaps = sorted(glob.glob(os.path.join(ROOT, "tests/it/snapshots/it__fixtures__*.snap")))
    for path in snaps[::40]:
        text = open(path).read().split("---\n", 2)[-1]
        put("render", b"\x00" + text.replace('"[id]"', '"evt_01J0000000000000000000000"')
            .replace('"[timestamp]"', '"2024-12-01T10:00:00Z"').encode())
    kinds = ["discord", "slack", "home_assistant", "webhook", "telegram", "ntfy", "gotify", "pushover",
             "matrix", "email", "mqtt"]
    for path in sorted(glob.glob(os.path.join(ROOT, "templates/*/*.hbs"))):
        kind = os.path.basename(os.path.dirname(path))
        mode = kinds.index(kind) + 1 if kind in kinds else 1
        put("render", bytes([mode]) + open(path, "rb").read())


def filter_():
    for spec in [{"events": ["download.*"]}, {"events": ["*.grabbed", "library.*"], "sources": ["radarr"]},
                 {"events": ["*"], "filter": {"data.release.quality": {"in": ["WEBDL-2160p"]}}},
                 {"filter": {"data.media.year": {">=": 2000}, "source.instance": {"matches": "^Radarr"}}},
                 {"filter": {"data.media.tags": {"exists": True}, "data.media.title": "Dune: Part Two"}},
                 {"events": ["download.grab?ed"], "filter": {"data.release.size": {"<": 1e12}}}]:
        put("filter", json.dumps(spec))


inbound(); config(); apprise_url(); render(); filter_()
