//! Pictures members send (images in posts, avatars): decoded with the `image` crate under size
//! limits, turned upright, resized and encoded again. Nothing of the original file but its pixels
//! survives: no EXIF (GPS position, camera serial), no XMP, no comments, no trailing bytes.
//! Pure functions: no HTTP, no SQL.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

/// Largest file accepted, before anything is decoded.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;
/// Largest side of a picture as sent (a 12,000 px panorama is fine, a crafted 60,000 px one is not).
pub const MAX_SOURCE_SIDE: u32 = 12_000;
/// Largest picture as sent, in pixels (50 megapixels: any phone camera).
pub const MAX_SOURCE_PIXELS: u64 = 50_000_000;
/// Memory the decoder may take for one picture.
const MAX_DECODE_BYTES: u64 = 400 * 1024 * 1024;
/// A post's picture is at most this many pixels on its longer side.
pub const POST_SIDE: u32 = 1600;
/// Its thumbnail, shown in the post (a tap opens the larger one).
pub const THUMB_SIDE: u32 = 640;
/// An avatar is a square of this side…
pub const AVATAR_SIDE: u32 = 256;
/// …with a small version shown next to posts.
pub const AVATAR_SMALL: u32 = 64;

/// Why a picture was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageProblem {
    /// No bytes at all.
    Empty,
    /// More than [`MAX_UPLOAD_BYTES`].
    TooLarge,
    /// Not a PNG, JPEG, GIF or WebP picture (decided from the bytes, never the name).
    NotAnImage,
    /// Wider, taller or bigger than the limits.
    TooManyPixels,
    /// Looks like a picture but cannot be decoded (truncated, corrupt).
    Unreadable,
}

/// What a picture becomes: the kind to store, as picture and thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// For a post: at most [`POST_SIDE`], and a [`THUMB_SIDE`] thumbnail; proportions kept.
    Post,
    /// An avatar: the centre square, [`AVATAR_SIDE`] and [`AVATAR_SMALL`].
    Avatar,
}

/// One encoded picture.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub content_type: &'static str,
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A picture ready to store: the larger version and its thumbnail, both freshly encoded.
#[derive(Debug, Clone)]
pub struct Processed {
    pub full: Encoded,
    pub thumb: Encoded,
    /// The format the sender's file was in.
    pub source_format: &'static str,
}

/// Decodes `bytes` (PNG, JPEG, GIF: its first frame, WebP), applies the EXIF orientation,
/// resizes and re-encodes it (JPEG for opaque pictures, PNG where transparency is used).
/// CPU-heavy: call it off the async workers. A decoder that panics on a crafted file is
/// caught: the file is unreadable, the server carries on.
pub fn process(bytes: &[u8], shape: Shape) -> Result<Processed, ImageProblem> {
    std::panic::catch_unwind(|| process_unguarded(bytes, shape)).unwrap_or_else(|_| {
        tracing::warn!("an image decoder panicked on a {}-byte file", bytes.len());
        Err(ImageProblem::Unreadable)
    })
}

fn process_unguarded(bytes: &[u8], shape: Shape) -> Result<Processed, ImageProblem> {
    if bytes.is_empty() {
        return Err(ImageProblem::Empty);
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(ImageProblem::TooLarge);
    }
    let format = image::guess_format(bytes).map_err(|_| ImageProblem::NotAnImage)?;
    let source_format = match format {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Gif => "gif",
        ImageFormat::WebP => "webp",
        _ => return Err(ImageProblem::NotAnImage),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_SIDE);
    limits.max_image_height = Some(MAX_SOURCE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(ImageProblem::Unreadable);
    }
    if u64::from(w) * u64::from(h) > MAX_SOURCE_PIXELS {
        return Err(ImageProblem::TooManyPixels);
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    img.apply_orientation(orientation);
    let (full, thumb) = match shape {
        Shape::Post => (fit(&img, POST_SIDE), fit(&img, THUMB_SIDE)),
        Shape::Avatar => {
            let side = img.width().min(img.height());
            let square = img.crop_imm((img.width() - side) / 2, (img.height() - side) / 2, side, side);
            (
                square.resize_exact(side.min(AVATAR_SIDE), side.min(AVATAR_SIDE), FilterType::Lanczos3),
                square.resize_exact(side.min(AVATAR_SMALL), side.min(AVATAR_SMALL), FilterType::Lanczos3),
            )
        }
    };
    Ok(Processed {
        full: encode(&full)?,
        thumb: encode(&thumb)?,
        source_format,
    })
}

fn classify(e: ImageError) -> ImageProblem {
    match e {
        ImageError::Limits(_) => ImageProblem::TooManyPixels,
        ImageError::Unsupported(_) => ImageProblem::NotAnImage,
        _ => ImageProblem::Unreadable,
    }
}

/// The picture scaled down to fit a `side` × `side` box (never up).
fn fit(img: &DynamicImage, side: u32) -> DynamicImage {
    if img.width() <= side && img.height() <= side {
        img.clone()
    } else {
        img.resize(side, side, FilterType::Lanczos3)
    }
}

/// JPEG (quality 85) unless some pixel is see-through, then PNG.
fn encode(img: &DynamicImage) -> Result<Encoded, ImageProblem> {
    let (width, height) = (img.width(), img.height());
    let mut data = Vec::new();
    let see_through = img.color().has_alpha() && img.to_rgba8().pixels().any(|p| p.0[3] < 255);
    let content_type = if see_through {
        img.to_rgba8()
            .write_with_encoder(PngEncoder::new(&mut data))
            .map_err(|_| ImageProblem::Unreadable)?;
        "image/png"
    } else {
        img.to_rgb8()
            .write_with_encoder(JpegEncoder::new_with_quality(&mut data, 85))
            .map_err(|_| ImageProblem::Unreadable)?;
        "image/jpeg"
    };
    Ok(Encoded {
        content_type,
        data,
        width,
        height,
    })
}

/// A 256 px picture for demo accounts: a diagonal blend of two colours picked by `seed`.
pub fn demo_avatar_png(seed: u32) -> Vec<u8> {
    const COLOURS: [[u8; 3]; 6] = [
        [255, 103, 0],
        [0, 122, 204],
        [46, 160, 67],
        [156, 39, 176],
        [230, 81, 0],
        [0, 137, 123],
    ];
    let a = COLOURS[seed as usize % COLOURS.len()];
    let b = COLOURS[(seed as usize + 2) % COLOURS.len()];
    let img = image::RgbImage::from_fn(256, 256, |x, y| {
        let t = (x + y) as f32 / 510.0;
        image::Rgb([0, 1, 2].map(|i| (f32::from(a[i]) * (1.0 - t) + f32::from(b[i]) * t) as u8))
    });
    let mut data = Vec::new();
    let _ = img.write_with_encoder(PngEncoder::new(&mut data));
    data
}

/// A test file: a PNG header claiming `w` × `h` pixels (valid checksums) and a scrap of pixel
/// data, as a "decompression bomb" would start.
pub fn test_png_header(w: u32, h: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A test picture: `w` × `h` pixels of a gradient, as PNG.
pub fn test_png(w: u32, h: u32, alpha: bool) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            128,
            if alpha && x < w / 2 { 100 } else { 255 },
        ])
    });
    let mut data = Vec::new();
    // Writing to memory does not fail.
    let _ = img.write_with_encoder(PngEncoder::new(&mut data));
    data
}

/// A test picture: `w` × `h` pixels as a JPEG carrying an EXIF block with an orientation
/// (`orientation`, 1–8) and a GPS position, as phones write them.
pub fn test_jpeg_with_exif(w: u32, h: u32, orientation: u16) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 60]));
    let mut plain = Vec::new();
    let _ = img.write_with_encoder(JpegEncoder::new_with_quality(&mut plain, 90));
    // EXIF, big-endian TIFF: IFD0 with Orientation (0x0112) and a GPS IFD pointer (0x8825);
    // the GPS IFD holds a latitude reference and the text "GPS 31.2N 121.5E" as a marker.
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    let ifd0_entries = 2u16;
    let gps_ifd_at = 8 + 2 + 12 * u32::from(ifd0_entries) + 4;
    tiff.extend_from_slice(&ifd0_entries.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1]);
    tiff.extend_from_slice(&gps_ifd_at.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let marker = b"GPS 31.2N 121.5E\0";
    let text_at = gps_ifd_at + 2 + 12 + 4;
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&[0, 0x1B, 0, 7]); // GPSProcessingMethod, UNDEFINED
    tiff.extend_from_slice(&(marker.len() as u32).to_be_bytes());
    tiff.extend_from_slice(&text_at.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(marker);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_phone_photo_is_turned_upright_resized_and_loses_its_exif() {
        // Orientation 6: the camera was held sideways; upright, the 3000×2000 sensor image is
        // 2000 wide and 3000 tall.
        let photo = test_jpeg_with_exif(3000, 2000, 6);
        assert!(contains(&photo, b"GPS 31.2N"));
        let done = process(&photo, Shape::Post).unwrap();
        assert_eq!(done.source_format, "jpeg");
        assert_eq!((done.full.width, done.full.height), (1067, 1600));
        assert!(done.thumb.width <= THUMB_SIDE && done.thumb.height == THUMB_SIDE);
        for out in [&done.full.data, &done.thumb.data] {
            assert!(!contains(out, b"Exif"), "no EXIF block left");
            assert!(!contains(out, b"GPS 31.2N"));
            let back = image::load_from_memory(out).unwrap();
            assert!(back.width() < back.height());
        }
    }

    #[test]
    fn small_pictures_keep_their_size_and_transparency_decides_the_format() {
        let opaque = process(&test_png(300, 200, false), Shape::Post).unwrap();
        assert_eq!(
            (opaque.full.width, opaque.full.height, opaque.full.content_type),
            (300, 200, "image/jpeg")
        );
        let clear = process(&test_png(300, 200, true), Shape::Post).unwrap();
        assert_eq!(clear.full.content_type, "image/png");
    }

    #[test]
    fn an_avatar_is_the_centre_square() {
        let done = process(&test_png(900, 400, false), Shape::Avatar).unwrap();
        assert_eq!((done.full.width, done.full.height), (AVATAR_SIDE, AVATAR_SIDE));
        assert_eq!((done.thumb.width, done.thumb.height), (AVATAR_SMALL, AVATAR_SMALL));
        let tiny = process(&test_png(40, 30, false), Shape::Avatar).unwrap();
        assert_eq!((tiny.full.width, tiny.thumb.width), (30, 30));
    }

    /// Small valid files of every accepted format, to mutate.
    fn samples() -> Vec<Vec<u8>> {
        let img = image::RgbaImage::from_fn(24, 16, |x, y| image::Rgba([x as u8 * 9, y as u8 * 13, 90, 255]));
        let mut gif = Vec::new();
        image::codecs::gif::GifEncoder::new(&mut gif)
            .encode_frame(image::Frame::new(img.clone()))
            .unwrap();
        let mut webp = Vec::new();
        img.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut webp))
            .unwrap();
        vec![test_png(24, 16, true), test_jpeg_with_exif(24, 16, 3), gif, webp]
    }

    #[test]
    fn every_accepted_format_is_read() {
        for (sample, format) in samples().iter().zip(["png", "jpeg", "gif", "webp"]) {
            let done = process(sample, Shape::Post).unwrap();
            assert_eq!(
                (done.source_format, done.full.width, done.full.height),
                (format, 24, 16)
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(300))]
        /// Damaged files of every format (bytes changed, cut, or inserted): an answer, never a
        /// panic, and never a picture larger than the limits.
        #[test]
        fn damaged_files_never_panic(
            which in 0usize..4,
            edits in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY, 0u8..3), 1..12),
            cut in proptest::option::of(0usize..4096),
        ) {
            let mut data = samples().swap_remove(which);
            for (at, byte, how) in edits {
                let at = at % (data.len() + 1);
                match how {
                    0 if at < data.len() => data[at] = byte,
                    1 => data.insert(at, byte),
                    _ if at < data.len() => { data.remove(at); }
                    _ => {}
                }
            }
            if let Some(cut) = cut {
                data.truncate(cut % (data.len() + 1));
            }
            if let Ok(done) = process(&data, Shape::Post) {
                proptest::prop_assert!(done.full.width <= POST_SIDE && done.full.height <= POST_SIDE);
            }
        }
    }

    #[test]
    fn what_is_not_a_usable_picture_is_refused_without_panicking() {
        assert_eq!(process(b"", Shape::Post).unwrap_err(), ImageProblem::Empty);
        assert_eq!(
            process(b"hello, world", Shape::Post).unwrap_err(),
            ImageProblem::NotAnImage
        );
        assert_eq!(
            process(b"<svg xmlns='http://www.w3.org/2000/svg'/>", Shape::Post).unwrap_err(),
            ImageProblem::NotAnImage
        );
        assert_eq!(
            process(&vec![0u8; MAX_UPLOAD_BYTES + 1], Shape::Post).unwrap_err(),
            ImageProblem::TooLarge
        );
        // Cut inside the header: refused. Cut in the pixel data: the decoder may keep the rows
        // it has (as browsers do) or refuse; either way, no panic.
        let png = test_png(64, 64, false);
        for cut in [8, 20, 40] {
            assert!(process(&png[..cut], Shape::Post).is_err(), "cut at {cut}");
        }
        let jpeg = test_jpeg_with_exif(64, 64, 1);
        for cut in [3, 30, 200] {
            assert!(process(&jpeg[..cut], Shape::Post).is_err(), "cut at {cut}");
        }
        for cut in (0..png.len()).step_by(7).chain((0..jpeg.len()).step_by(11)) {
            let _ = process(&png[..cut.min(png.len())], Shape::Post);
            let _ = process(&jpeg[..cut.min(jpeg.len())], Shape::Avatar);
        }
        // Headers claiming 100,000 × 100,000 pixels (over a side) and 10,000 × 10,000 (100
        // megapixels): refused from the header, before any pixel is allocated.
        for (w, h) in [(100_000, 100_000), (10_000, 10_000), (12_001, 10)] {
            assert_eq!(
                process(&test_png_header(w, h), Shape::Post).unwrap_err(),
                ImageProblem::TooManyPixels,
                "{w}×{h}"
            );
        }
        // The same header at a small size is read (and found short of pixels), so the checks
        // above are about the size, not a broken file.
        assert_eq!(
            process(&test_png_header(4, 4), Shape::Post).unwrap_err(),
            ImageProblem::Unreadable
        );
    }
}
