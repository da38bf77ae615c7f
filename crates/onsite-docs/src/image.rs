//! PNG input (signatures, logo) decoded into printpdf raw images.

use std::io::Cursor;

use png::{ColorType, Decoder, Limits, Transformations};
use printpdf::{RawImage, RawImageData, RawImageFormat};

use crate::DocsError;

/// Images wider than this are box-downsampled: a signature prints about 60 mm wide, so
/// 1000 px is already ~400 dpi.
const MAX_WIDTH: u32 = 1000;
/// Refuse absurd inputs before decoding them.
const MAX_DECODED_BYTES: usize = 48 * 1024 * 1024;

pub(crate) struct Decoded {
    pub(crate) raw: RawImage,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Decoded {
    pub(crate) fn aspect(&self) -> f32 {
        self.height as f32 / self.width.max(1) as f32
    }
}

pub(crate) fn decode_png(what: &'static str, bytes: &[u8]) -> Result<Decoded, DocsError> {
    let err = |reason: String| DocsError::Image { what, reason };
    let mut dec = Decoder::new_with_limits(
        Cursor::new(bytes),
        Limits {
            bytes: MAX_DECODED_BYTES,
        },
    );
    dec.set_transformations(Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|e| err(e.to_string()))?;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| err(e.to_string()))?;
    buf.truncate(info.buffer_size());
    let (ct, _) = reader.output_color_type();
    let channels = match ct {
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        ColorType::Indexed => return Err(err("palette not expanded".into())),
    };
    let (w, h) = (info.width, info.height);
    if w == 0 || h == 0 {
        return Err(err("empty image".into()));
    }
    let (mut w, mut h, mut px) = (w as usize, h as usize, buf);
    let factor = w.div_ceil(MAX_WIDTH as usize);
    if factor > 1 {
        (w, h, px) = downsample(&px, w, h, channels, factor);
    }

    let has_alpha = channels == 2 || channels == 4;
    let color = if channels >= 3 { 3 } else { 1 };
    let opaque = !has_alpha || px.chunks_exact(channels).all(|p| p[channels - 1] == 255);
    // Grey when every visible pixel is grey (black ink on transparent, typically).
    let grey = color == 1
        || px
            .chunks_exact(channels)
            .all(|p| (has_alpha && p[channels - 1] == 0) || (p[0] == p[1] && p[1] == p[2]));
    let out_ch = if grey { 1 } else { 3 } + usize::from(!opaque);
    let mut out = Vec::with_capacity(w * h * out_ch);
    for p in px.chunks_exact(channels) {
        if grey {
            out.push(p[0]);
        } else {
            out.extend_from_slice(&p[..3]);
        }
        if !opaque {
            out.push(p[channels - 1]);
        }
    }
    let format = match (grey, opaque) {
        (true, true) => RawImageFormat::R8,
        (true, false) => RawImageFormat::RG8,
        (false, true) => RawImageFormat::RGB8,
        (false, false) => RawImageFormat::RGBA8,
    };
    Ok(Decoded {
        raw: RawImage {
            pixels: RawImageData::U8(out),
            width: w,
            height: h,
            data_format: format,
            tag: Vec::new(),
        },
        width: w as u32,
        height: h as u32,
    })
}

/// Box filter by an integer factor; colour is averaged weighted by alpha so transparent
/// pixels do not darken the strokes' edges.
fn downsample(px: &[u8], w: usize, h: usize, ch: usize, f: usize) -> (usize, usize, Vec<u8>) {
    let (nw, nh) = (w.div_ceil(f), h.div_ceil(f));
    let alpha = ch == 2 || ch == 4;
    let mut out = vec![0u8; nw * nh * ch];
    for ny in 0..nh {
        for nx in 0..nw {
            let mut acc = [0u64; 4];
            let mut wsum = 0u64;
            let mut n = 0u64;
            for y in ny * f..((ny + 1) * f).min(h) {
                for x in nx * f..((nx + 1) * f).min(w) {
                    let p = &px[(y * w + x) * ch..][..ch];
                    let a = if alpha { u64::from(p[ch - 1]) } else { 255 };
                    let colour = if alpha { ch - 1 } else { ch };
                    for (i, v) in p[..colour].iter().enumerate() {
                        acc[i] += u64::from(*v) * a;
                    }
                    if alpha {
                        acc[ch - 1] += a;
                    }
                    wsum += a;
                    n += 1;
                }
            }
            let o = &mut out[(ny * nw + nx) * ch..][..ch];
            let colour = if alpha { ch - 1 } else { ch };
            for i in 0..colour {
                o[i] = acc[i].checked_div(wsum).unwrap_or(0) as u8;
            }
            if alpha {
                o[ch - 1] = (acc[ch - 1] / n.max(1)) as u8;
            }
        }
    }
    (nw, nh, out)
}
