//! Hand-written payloads for what apps really send (research §1.2, §1.7): unknown values, odd casing, strings
//! for numbers, big sizes, placeholder dates, old and new shapes, and bodies that are not payloads at all.

use crate::fixtures::parse_as;
use hookarr::event::{EventKind, MediaType};
use hookarr::inbound::{InboundError, SourceApp};
use serde_json::json;

fn radarr(body: serde_json::Value) -> hookarr::event::Event {
    parse_as(
        SourceApp::Radarr,
        "Radarr/6.0.3.10276 (ubuntu 24.04)",
        body.to_string().as_bytes(),
    )
    .unwrap()
}

#[test]
fn absent_zero_and_empty_ids_are_all_null() {
    for movie in [
        json!({"title": "A"}),
        json!({"title": "A", "tmdbId": 0, "imdbId": "", "year": 0}),
        json!({"title": "A", "tmdbId": null, "imdbId": null, "year": null}),
    ] {
        let e = radarr(json!({"eventType": "MovieAdded", "movie": movie}));
        let m = e.data.media.unwrap();
        assert_eq!(m.ids.tmdb, None, "{movie}");
        assert_eq!(m.ids.imdb, None, "{movie}");
        assert_eq!(m.year, None, "{movie}");
    }
    let e = radarr(
        json!({"eventType": "MovieAdded", "movie": {"title": "A", "tmdbId": "693134", "imdbId": "tt1"}}),
    );
    assert_eq!(e.data.media.unwrap().ids.tmdb, Some(693_134));
}

#[test]
fn event_type_matches_in_any_case() {
    for name in ["Grab", "grab", "GRAB", "gRaB"] {
        let e = radarr(json!({"eventType": name, "movie": {"title": "A"}}));
        assert_eq!(e.event, EventKind::DownloadGrabbed, "{name}");
        assert_eq!(e.source.event, name, "the app's own name is kept verbatim");
    }
}

#[test]
fn unknown_event_names_become_other_and_keep_the_name() {
    let e = radarr(json!({"eventType": "SomethingNew", "instanceName": "Radarr 4K"}));
    assert_eq!(e.event, EventKind::Other);
    assert_eq!(e.source.event, "SomethingNew");
    assert_eq!(e.summary, "Radarr 4K: SomethingNew");
}

#[test]
fn track_numbers_stay_strings_and_sizes_exceed_32_bits() {
    let body = json!({
        "eventType": "Download",
        "artist": {"name": "Radiohead", "mbId": "a74b"},
        "album": {"title": "OK Computer", "releaseDate": "1997-05-21T00:00:00Z", "mbId": "b139"},
        "tracks": [{"title": "Airbag", "trackNumber": "A1"}, {"title": "Paranoid Android", "trackNumber": 2}],
        "trackFiles": [{"path": "/m/a.flac", "size": 5_000_000_000_i64, "quality": "FLAC"}],
        "isUpgrade": false
    });
    let e = parse_as(
        SourceApp::Lidarr,
        "Lidarr/2.14",
        body.to_string().as_bytes(),
    )
    .unwrap();
    let m = e.data.media.unwrap();
    assert_eq!(m.kind, MediaType::Album);
    assert_eq!(
        m.year,
        Some(1997),
        "Lidarr album year comes from its release date"
    );
    assert_eq!(m.tracks[0].number.as_deref(), Some("A1"));
    assert_eq!(m.tracks[1].number.as_deref(), Some("2"));
    assert_eq!(m.ids.musicbrainz_album.as_deref(), Some("b139"));
    assert_eq!(e.data.file.unwrap().size_bytes, Some(5_000_000_000));
}

#[test]
fn placeholder_release_dates_give_no_year() {
    let e = radarr(
        json!({"eventType": "MovieAdded", "movie": {"title": "A", "year": 0, "releaseDate": "9999-12-31"}}),
    );
    assert_eq!(e.data.media.unwrap().year, None);
    let e = radarr(
        json!({"eventType": "MovieAdded", "movie": {"title": "A", "releaseDate": "2021-10-22"}}),
    );
    assert_eq!(
        e.data.media.unwrap().year,
        Some(2021),
        "Radarr v3 had no year: derive it"
    );
}

#[test]
fn sonarr_v3_shapes_parse() {
    let body = json!({
        "eventType": "EpisodeFileDelete",
        "series": {"id": 1, "title": "Show", "path": "/tv/Show", "tvdbId": 123, "tvMazeId": 0, "type": "standard"},
        "episodes": [{"id": 5, "episodeNumber": 3, "seasonNumber": 0, "title": "Special", "airDate": "2019-01-01"}],
        "episodeFile": {"id": 9, "relativePath": "S00E03.mkv", "path": "/tv/Show/S00E03.mkv",
                        "quality": {"quality": {"id": 3, "name": "WEBDL-1080p"}, "revision": {"version": 1}}}
    });
    let e = parse_as(
        SourceApp::Sonarr,
        "Sonarr/3.0.10.1567",
        body.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(e.event, EventKind::LibraryDeleted);
    assert_eq!(
        e.source.instance.as_deref(),
        Some("Sonarr"),
        "no instanceName: the User-Agent names the app"
    );
    assert_eq!(e.source.version.as_deref(), Some("3.0.10.1567"));
    let m = e.data.media.unwrap();
    assert_eq!(m.kind, MediaType::Episode);
    assert_eq!(m.season, Some(0), "season 0 (specials) is a real season");
    assert_eq!(m.ids.tvdb, Some(123));
    assert_eq!(m.ids.tvmaze, None);
    assert_eq!(e.data.file.unwrap().quality.as_deref(), Some("WEBDL-1080p"));
    assert_eq!(e.data.deleted.unwrap().scope, "file");
}

#[test]
fn sonarr_v5_anime_ids_fill_mal_and_anilist() {
    let body = json!({
        "eventType": "SeriesAdd",
        "series": {"title": "Frieren", "tvdbId": 424536, "malIds": [52991], "aniListIds": ["154587"], "originalCountry": "jp"}
    });
    let e = parse_as(SourceApp::Sonarr, "Sonarr/5.0", body.to_string().as_bytes()).unwrap();
    let m = e.data.media.unwrap();
    assert_eq!(m.kind, MediaType::Series);
    assert_eq!((m.ids.mal, m.ids.anilist), (Some(52991), Some(154_587)));
}

#[test]
fn health_has_no_media_and_upgrade_needs_is_upgrade() {
    let e = radarr(
        json!({"eventType": "Health", "level": "warning", "message": "Indexers unavailable", "type": "IndexerStatusCheck"}),
    );
    assert!(e.data.media.is_none());
    let h = e.data.health.unwrap();
    assert_eq!(
        (h.level.as_deref(), h.check.as_deref()),
        (Some("warning"), Some("IndexerStatusCheck"))
    );
    let e = radarr(
        json!({"eventType": "Download", "isUpgrade": true, "movie": {"title": "A"},
        "movieFile": {"quality": "Bluray-2160p"}, "deletedFiles": [{"path": "/old.mkv", "quality": "WEBDL-1080p"}]}),
    );
    assert_eq!(e.event, EventKind::LibraryUpgraded);
    assert_eq!(e.summary, "A upgraded — Bluray-2160p");
}

#[test]
fn item_deletes_say_whether_files_went_too() {
    let e = radarr(
        json!({"eventType": "MovieDelete", "movie": {"title": "A"}, "deletedFiles": true, "movieFolderSize": 123}),
    );
    let d = e.data.deleted.unwrap();
    assert_eq!((d.scope.as_str(), d.files_deleted), ("item", Some(true)));
}

#[test]
fn sections_that_do_not_apply_are_absent_not_empty() {
    let e = radarr(json!({"eventType": "Test", "movie": {"title": "Test Title"}}));
    let v = serde_json::to_value(&e).unwrap();
    for section in [
        "release", "file", "deleted", "download", "playback", "user", "health", "update",
    ] {
        assert!(
            v["data"].get(section).is_none(),
            "{section} should be absent: {v}"
        );
    }
    assert!(
        v["data"]["media"]["ids"]["tvdb"].is_null(),
        "unknown values are null, not absent"
    );
}

#[test]
fn bodies_that_are_not_payloads_are_told_apart() {
    let parse = |b: &[u8]| parse_as(SourceApp::Radarr, "Radarr/6", b).unwrap_err();
    assert_eq!(parse(b""), InboundError::Empty);
    assert_eq!(parse(b"  \n"), InboundError::Empty);
    assert!(matches!(
        parse(b"{\"eventType\": "),
        InboundError::NotJson(_)
    ));
    assert!(matches!(parse(b"not json"), InboundError::NotJson(_)));
    assert_eq!(parse(b"[1, 2]"), InboundError::NotAnObject("an array"));
    assert_eq!(parse(b"\"Grab\""), InboundError::NotAnObject("a string"));
    assert_eq!(parse(b"42"), InboundError::NotAnObject("a number"));
    assert_eq!(
        parse(b"{\"movie\": {}}"),
        InboundError::MissingField("eventType")
    );
    assert!(matches!(
        parse(b"{\"eventType\": \"Grab\", \"movie\": \"x\"}"),
        InboundError::Shape(_)
    ));
    assert!(matches!(
        parse(b"{\"eventType\": \"\xff\xfe\"}"),
        InboundError::NotJson(_)
    ));
}

/// Every leaf (and every object) of every Arr fixture replaced by values of other types: parsing must
/// answer Ok or a typed error, never panic, and a changed leaf value must never cost the event its name.
#[test]
fn mutated_fixtures_never_panic() {
    use serde_json::Value;
    fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    at.push(k.clone());
                    out.push(at.clone());
                    paths(child, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate().take(2) {
                    at.push(i.to_string());
                    out.push(at.clone());
                    paths(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    fn slot<'v>(v: &'v mut Value, path: &[String]) -> &'v mut Value {
        path.iter().fold(v, |node, key| match node {
            Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
            other => &mut other[key.as_str()],
        })
    }
    let replacements = [
        json!(null),
        json!(""),
        json!(0),
        json!(-1),
        json!(1e300),
        json!(true),
        json!([]),
        json!({}),
        json!("x"),
    ];
    let mut parsed = 0;
    for (app, ua) in [
        (SourceApp::Radarr, "Radarr/6"),
        (SourceApp::Sonarr, "Sonarr/4"),
        (SourceApp::Lidarr, "Lidarr/2"),
    ] {
        let payloads = crate::helpers::Corpus::all()
            .into_iter()
            .flat_map(|corpus| {
                let names = corpus.names(app.as_str());
                names.into_iter().map(move |name| (corpus.clone(), name))
            });
        for (corpus, name) in payloads {
            let original: Value =
                serde_json::from_slice(&corpus.read(app.as_str(), &name)).unwrap();
            let expected = parse_as(app, ua, original.to_string().as_bytes())
                .unwrap()
                .event;
            let mut all = Vec::new();
            paths(&original, &mut Vec::new(), &mut all);
            for path in all {
                for replacement in &replacements {
                    let mut body = original.clone();
                    *slot(&mut body, &path) = replacement.clone();
                    match parse_as(app, ua, body.to_string().as_bytes()) {
                        Ok(event)
                            if path != ["eventType"]
                                && !(path.len() == 1 && path[0] == "isUpgrade")
                                && !(path[0] == "episodeFiles" || path[0] == "fileCount") =>
                        {
                            assert_eq!(
                                event.event, expected,
                                "{path:?} = {replacement} changed the event name"
                            );
                        }
                        Ok(_) => {}
                        Err(InboundError::Shape(_) | InboundError::MissingField("eventType")) => {}
                        Err(other) => panic!("{path:?} = {replacement}: unexpected {other:?}"),
                    }
                    parsed += 1;
                }
            }
        }
    }
    assert!(parsed > 5_000, "only {parsed} mutations tried");
}

#[test]
fn whisparr_speaks_radarr_and_sonarr_shapes() {
    let v2 = json!({"eventType": "Download", "isUpgrade": false, "instanceName": "Whisparr",
        "movie": {"title": "A Scene", "releaseDate": "2023-04-01", "tmdbId": 0},
        "movieFile": {"quality": "WEBDL-1080p", "size": 3_000_000_000_i64}});
    let e = parse_as(
        SourceApp::Whisparr,
        "Whisparr/2.0.0.819 (debian 12)",
        v2.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        (e.event, e.source.app.as_str()),
        (EventKind::LibraryNew, "whisparr")
    );
    let m = e.data.media.unwrap();
    assert_eq!(
        (m.kind, m.year, m.ids.tmdb),
        (MediaType::Movie, Some(2023), None)
    );
    let v3 = json!({"eventType": "Grab", "series": {"title": "Site"}, "episodes": [{"seasonNumber": 2024, "episodeNumber": 12}],
        "release": {"quality": "WEBDL-2160p", "releaseTitle": "Site.24.12.01"}});
    let e = parse_as(
        SourceApp::Whisparr,
        "Whisparr/3.0",
        v3.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(e.event, EventKind::DownloadGrabbed);
    assert_eq!(e.summary, "Site S2024E12 grabbed — WEBDL-2160p");
}
