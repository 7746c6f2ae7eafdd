//! `data.media` from an Arr payload: the movie, the series and its episodes, the artist and album, or the book
//! and its author.

use super::payload::{Album, Author, Image, Payload};
use crate::event::{Episode, EpisodeIds, Media, MediaIds, MediaType, Track};
use crate::inbound::lenient::{date_only, year_of_date};

/// The library item of the payload, if it names one (health and update events do not).
pub(super) fn media_of(p: &mut Payload) -> Option<Media> {
    let app_url = p.application_url.clone();
    if let Some(movie) = p.movie.take().or_else(|| p.remote_movie.take()) {
        let remote = p.remote_movie.take().unwrap_or_default();
        return Some(Media {
            kind: MediaType::Movie,
            title: movie.title.or(remote.title),
            year: movie
                .year
                .or(remote.year)
                .and_then(to_i32)
                .or_else(|| year_of_date(movie.release_date.as_deref())),
            overview: movie.overview,
            ids: MediaIds {
                tmdb: movie.tmdb_id.or(remote.tmdb_id),
                imdb: imdb(movie.imdb_id).or_else(|| imdb(remote.imdb_id)),
                ..MediaIds::default()
            },
            genres: movie.genres,
            tags: movie.tags,
            poster_url: poster(&movie.images, app_url.as_deref()),
            ..Media::default()
        });
    }
    if let Some(series) = p.series.take() {
        let episodes: Vec<Episode> = std::mem::take(&mut p.episodes)
            .into_iter()
            .map(|e| Episode {
                season: e.season_number.and_then(to_i32),
                episode: e.episode_number.and_then(to_i32),
                title: e.title,
                air_date: date_only(e.air_date.as_deref()),
                ids: EpisodeIds {
                    tvdb: e.tvdb_id,
                    ..EpisodeIds::default()
                },
            })
            .collect();
        let season = episodes
            .first()
            .and_then(|e| e.season)
            .filter(|s| episodes.iter().all(|e| e.season == Some(*s)));
        return Some(Media {
            kind: if episodes.is_empty() {
                MediaType::Series
            } else {
                MediaType::Episode
            },
            year: series.year.and_then(to_i32),
            overview: series.overview,
            ids: MediaIds {
                tmdb: series.tmdb_id,
                imdb: imdb(series.imdb_id),
                tvdb: series.tvdb_id,
                tvmaze: series.tv_maze_id,
                mal: first_id(&series.mal_ids),
                anilist: first_id(&series.ani_list_ids),
                ..MediaIds::default()
            },
            series: series.title.clone(),
            title: series.title,
            season,
            episodes,
            genres: series.genres,
            tags: series.tags,
            poster_url: poster(&series.images, app_url.as_deref()),
            ..Media::default()
        });
    }
    if let Some(author) = p.author.take() {
        return Some(book_or_author(p, author));
    }
    let artist = p.artist.take();
    let album: Option<Album> = p.album.take().or_else(|| {
        // Lidarr Grab sends `albums[]`; one grab is nearly always one album.
        let mut albums = std::mem::take(&mut p.albums);
        (!albums.is_empty()).then(|| albums.swap_remove(0))
    });
    if artist.is_none() && album.is_none() {
        return None;
    }
    let artist = artist.unwrap_or_default();
    let tracks: Vec<Track> = std::mem::take(&mut p.tracks)
        .into_iter()
        .map(|t| Track {
            number: t.track_number,
            title: t.title,
        })
        .collect();
    let ids = MediaIds {
        musicbrainz_artist: artist.mb_id,
        musicbrainz_album: album.as_ref().and_then(|a| a.mb_id.clone()),
        ..MediaIds::default()
    };
    Some(match album {
        Some(album) => Media {
            kind: MediaType::Album,
            title: album.title.clone(),
            year: year_of_date(album.release_date.as_deref()),
            overview: album.overview.or(artist.overview),
            ids,
            artist: artist.name,
            album: album.title,
            tracks,
            genres: if album.genres.is_empty() {
                artist.genres
            } else {
                album.genres
            },
            tags: artist.tags,
            poster_url: poster(&album.images, app_url.as_deref())
                .or_else(|| poster(&artist.images, app_url.as_deref())),
            ..Media::default()
        },
        None => Media {
            kind: MediaType::Artist,
            title: artist.name.clone(),
            overview: artist.overview,
            ids,
            artist: artist.name,
            tracks,
            genres: artist.genres,
            tags: artist.tags,
            poster_url: poster(&artist.images, app_url.as_deref()),
            ..Media::default()
        },
    })
}

/// Readarr: the book (`book`, or the first of a grab's `books[]`) by its author, else the author alone.
fn book_or_author(p: &mut Payload, author: Author) -> Media {
    let book = p.book.take().or_else(|| {
        let mut books = std::mem::take(&mut p.books);
        (!books.is_empty()).then(|| books.swap_remove(0))
    });
    let ids = MediaIds {
        goodreads_author: author.goodreads_id,
        ..MediaIds::default()
    };
    match book {
        Some(book) => {
            let edition = book.edition.unwrap_or_default();
            Media {
                kind: MediaType::Book,
                title: book.title,
                year: year_of_date(book.release_date.as_deref()),
                ids: MediaIds {
                    goodreads: book.goodreads_id,
                    isbn13: edition.isbn13,
                    asin: edition.asin,
                    ..ids
                },
                author: author.name,
                ..Media::default()
            }
        }
        None => Media {
            kind: MediaType::Author,
            title: author.name.clone(),
            ids,
            author: author.name,
            ..Media::default()
        },
    }
}

/// The poster (or Lidarr album cover): the public `remoteUrl`, else the app-local URL made absolute.
fn poster(images: &[Image], app_url: Option<&str>) -> Option<String> {
    let image = ["poster", "cover"].iter().find_map(|kind| {
        images
            .iter()
            .find(|i| i.cover_type.as_deref() == Some(kind))
    })?;
    image.remote_url.clone().or_else(|| {
        let local = image.url.as_deref()?;
        let base = app_url?.trim_end_matches('/');
        Some(format!("{base}{local}"))
    })
}

/// Only `tt…` is an IMDb id (Radarr's Test event sends `"5678"`).
fn imdb(id: Option<String>) -> Option<String> {
    id.filter(|i| i.starts_with("tt"))
}

fn first_id(ids: &[serde_json::Value]) -> Option<i64> {
    ids.iter()
        .find_map(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .filter(|n| *n > 0)
}

fn to_i32(n: i64) -> Option<i32> {
    i32::try_from(n).ok()
}
