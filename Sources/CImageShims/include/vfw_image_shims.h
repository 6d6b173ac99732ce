// C side of vfw's image decoding: libpng and libjpeg-turbo report fatal errors by longjmp, which
// must never cross a Swift frame. These functions do the whole setjmp/decode/longjmp dance in C and
// hand Swift either decoded samples or an error message, nothing else. Swift (Sources/Imaging)
// turns the samples into RGB the way Pillow does.
//
// This header deliberately includes neither png.h nor jpeglib.h, so Swift sees only this struct.

#ifndef VFW_IMAGE_SHIMS_H
#define VFW_IMAGE_SHIMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What went wrong, so Swift can pick the error case without parsing the message.
typedef enum {
    VFW_OK = 0,
    VFW_ERR_CORRUPT = 1,      ///< the library rejected the data (bad signature, CRC, Huffman table, ...)
    VFW_ERR_TRUNCATED = 2,    ///< the data ended before the image was complete
    VFW_ERR_UNSUPPORTED = 3,  ///< valid but not something vfw decodes (e.g. 12-bit JPEG, 2-channel JPEG)
    VFW_ERR_TOO_LARGE = 4,    ///< more pixels than Pillow's decompression-bomb limit
    VFW_ERR_MEMORY = 5,       ///< allocation failed
} vfw_status;

/// Decoded samples before any colour conversion.
///
/// PNG: `color_type` is the PNG colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA).
///      Gray below 8 bits is already scaled to 8 bits (0..255, as Pillow's "1"/"L;2"/"L;4" unpackers
///      do); palette indices below 8 bits are unpacked one per byte, not scaled. 16-bit samples stay
///      16-bit, big-endian. Interlaced images are already de-interlaced.
/// JPEG: `color_type` is 0 (gray, 1 sample), 2 (RGB, 3 samples, libjpeg's YCbCr->RGB done) or
///      5 (CMYK, 4 samples straight from libjpeg, i.e. still Adobe-inverted).
typedef struct {
    int32_t width;
    int32_t height;
    int32_t channels;          ///< samples per pixel in `pixels`
    int32_t bit_depth;         ///< 8 or 16: bits per sample in `pixels`
    int32_t source_bit_depth;  ///< bits per sample in the file (PNG 1/2/4/8/16; JPEG 8)
    int32_t color_type;
    int32_t interlaced;        ///< PNG Adam7
    int32_t progressive;       ///< JPEG progressive (SOF2)
    int32_t palette_count;     ///< PLTE entries (0..256)
    uint8_t palette[256 * 3];
    /// PNG tRNS, as the file has it (Pillow keeps it as info["transparency"]): palette images get one
    /// alpha per entry (`trns_count` of them, at most 256); gray and RGB images one colour in file units,
    /// `trns_color[0]` (gray) or `trns_color[0..2]` (RGB), with `trns_count` 1. 0: no tRNS.
    int32_t trns_count;
    uint8_t trns_alpha[256];
    uint16_t trns_color[3];
    uint8_t *pixels;           ///< malloc'd; `height` rows of `row_bytes`; free with vfw_raster_free
    size_t row_bytes;
    int32_t status;            ///< a vfw_status
    char error[200];           ///< one-line message when status != VFW_OK
} vfw_raster;

/// Pillow's default limit: `Image.MAX_IMAGE_PIXELS * 2` pixels raise DecompressionBombError.
#define VFW_MAX_PIXELS ((int64_t)178956970)

/// Decodes a whole PNG held in memory. Returns `status`; on failure `pixels` is NULL and `error` set.
int32_t vfw_png_decode(const uint8_t *data, size_t size, vfw_raster *out);

/// Decodes a whole JPEG held in memory (JDCT_ISLOW, fancy upsampling: libjpeg's defaults, as Pillow).
int32_t vfw_jpeg_decode(const uint8_t *data, size_t size, vfw_raster *out);

/// Frees `pixels` (safe to call twice).
void vfw_raster_free(vfw_raster *r);

/// Version strings of the libraries actually linked, for reports.
const char *vfw_libpng_version(void);
int32_t vfw_libjpeg_version(void);

#ifdef __cplusplus
}
#endif

#endif
