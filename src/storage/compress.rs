//! Stored envelopes and raw bodies, compressed: zstd with a dictionary trained on app payloads and normalized
//! events (`zstd-1.dict`, made by `tools/train-zstd-dictionary.py`), so a 1.5 KB JSON keeps ~500 bytes. A row
//! holds the compressed form in its `…_z` column (the plain column then empty) or, written before it or when
//! compressing failed, the plain form alone. Each frame names its dictionary, so a later dictionary never
//! makes an older row unreadable.

use super::StoreError;
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read as _;
use std::sync::LazyLock;
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// The dictionary of every frame written now; its id is in each frame.
static DICTIONARY: &[u8] = include_bytes!("zstd-1.dict");
/// zstd's default: ~5 µs for a 2 KB body here, within ~10 % of the best ratio (level 19).
const LEVEL: i32 = 3;

static ENCODER: LazyLock<EncoderDictionary<'static>> =
    LazyLock::new(|| EncoderDictionary::copy(DICTIONARY, LEVEL));
static DECODER: LazyLock<DecoderDictionary<'static>> =
    LazyLock::new(|| DecoderDictionary::copy(DICTIONARY));

thread_local! {
    /// One compression context per thread, reused (making one costs more than compressing a body).
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// What is stored of a text or body: the compressed frame, or the bytes as they are when compression failed
/// (it should not: it fails only when memory does).
pub(crate) enum Packed<T> {
    Compressed(Vec<u8>),
    Plain(T),
}

impl<T: AsRef<[u8]> + Default> Packed<T> {
    /// `data`, compressed when it can be.
    pub(crate) fn pack(data: T) -> Packed<T> {
        match compress(data.as_ref()) {
            Some(z) => Packed::Compressed(z),
            None => Packed::Plain(data),
        }
    }

    /// The plain column's value: empty when the frame holds the data.
    pub(crate) fn plain(&self) -> Cow<'_, T>
    where
        T: Clone,
    {
        match self {
            Packed::Compressed(_) => Cow::Owned(T::default()),
            Packed::Plain(data) => Cow::Borrowed(data),
        }
    }

    /// The `…_z` column's value.
    pub(crate) fn frame(&self) -> Option<&[u8]> {
        match self {
            Packed::Compressed(z) => Some(z),
            Packed::Plain(_) => None,
        }
    }
}

fn compress(data: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = zstd::bulk::Compressor::with_prepared_dictionary(&ENCODER).ok();
        }
        cell.as_mut()?.compress(data).ok()
    })
}

/// The stored bytes: the frame's content when there is a frame, else the plain column's.
pub(crate) fn unpack<'a>(
    plain: &'a [u8],
    frame: Option<&[u8]>,
) -> Result<Cow<'a, [u8]>, StoreError> {
    let Some(frame) = frame else {
        return Ok(Cow::Borrowed(plain));
    };
    let dictionary = zstd::zstd_safe::get_dict_id_from_frame(frame).map(|id| id.get());
    if dictionary != Some(1) {
        return Err(StoreError::Corrupt(format!(
            "a stored frame names zstd dictionary {dictionary:?}, which this version does not have"
        )));
    }
    let mut out = Vec::with_capacity(frame.len() * 4);
    zstd::stream::read::Decoder::with_prepared_dictionary(frame, &DECODER)
        .and_then(|mut d| d.read_to_end(&mut out))
        .map_err(|e| StoreError::Corrupt(format!("a compressed stored body: {e}")))?;
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_body_unpacks_to_the_same_bytes_and_is_smaller() {
        let body = br#"{"movie":{"title":"Dune: Part Two","year":2024,"tmdbId":693134},"eventType":"Grab","release":{"quality":"WEBDL-2160p","releaseTitle":"Dune.Part.Two.2024.2160p.WEB-DL.DDP5.1.Atmos.DV.HDR10.H.265-FLUX","indexer":"TorrentLeech","size":24696061952},"downloadClient":"qBittorrent","instanceName":"Radarr"}"#.to_vec();
        let packed = Packed::pack(body.clone());
        let frame = packed.frame().expect("compressed");
        assert!(
            frame.len() * 2 < body.len(),
            "{} of {}",
            frame.len(),
            body.len()
        );
        assert!(packed.plain().is_empty());
        assert_eq!(unpack(&packed.plain(), Some(frame)).unwrap().as_ref(), body);
    }

    #[test]
    fn a_row_without_a_frame_is_read_as_it_is_and_a_foreign_frame_is_refused() {
        assert_eq!(unpack(b"{}", None).unwrap().as_ref(), b"{}");
        let plain_zstd = zstd::bulk::compress(b"{}", 3).unwrap();
        assert!(matches!(
            unpack(b"", Some(&plain_zstd)),
            Err(StoreError::Corrupt(_))
        ));
        assert!(unpack(b"", Some(b"not zstd")).is_err());
    }
}
