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

/// The largest content a frame is decompressed in one piece for (larger ones stream).
const ONE_PIECE: u64 = 16 << 20;

thread_local! {
    /// One compression context per thread, reused (making one costs more than compressing a body).
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    /// The same for decompression: a context made per read, with its dictionary, cost more than the read
    /// (a tenth of a backlog's drain, profiled).
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
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
    decompress(frame)
        .map(Cow::Owned)
        .map_err(|e| StoreError::Corrupt(format!("a compressed stored body: {e}")))
}

/// A frame's content: in one piece with this thread's context when the frame says its size (hookarr's
/// frames do), else streamed.
fn decompress(frame: &[u8]) -> std::io::Result<Vec<u8>> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= ONE_PIECE => size as usize,
        _ => {
            let mut out = Vec::with_capacity(frame.len() * 4);
            zstd::stream::read::Decoder::with_prepared_dictionary(frame, &DECODER)?
                .read_to_end(&mut out)?;
            return Ok(out);
        }
    };
    DECOMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let decompressor = match cell.as_mut() {
            Some(d) => d,
            None => cell.insert(zstd::bulk::Decompressor::with_prepared_dictionary(
                &DECODER,
            )?),
        };
        decompressor.decompress(frame, size)
    })
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

    #[test]
    fn a_frame_that_does_not_say_its_size_is_streamed() {
        let body = b"{\"eventType\":\"Grab\",\"movie\":{\"title\":\"Dune\"}}".repeat(50);
        let mut encoder =
            zstd::stream::write::Encoder::with_prepared_dictionary(Vec::new(), &ENCODER).unwrap();
        encoder.include_contentsize(false).unwrap();
        std::io::Write::write_all(&mut encoder, &body).unwrap();
        let frame = encoder.finish().unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&frame)
                .ok()
                .flatten(),
            None
        );
        assert_eq!(unpack(b"", Some(&frame)).unwrap().as_ref(), body.as_slice());
        // And one that says it, read twice by this thread's context.
        let packed = Packed::pack(body.clone());
        for _ in 0..2 {
            assert_eq!(
                unpack(b"", packed.frame()).unwrap().as_ref(),
                body.as_slice()
            );
        }
    }
}
