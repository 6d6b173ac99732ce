// PNG through libpng, with libpng's longjmp error handling kept inside this file.
//
// libpng reports fatal errors by calling the error function and then longjmp'ing to the
// setjmp(png_jmpbuf(png)) point in vfw_png_decode. Every frame between the two is C (libpng and the
// callbacks below), so no Swift frame is ever skipped. The error function records the message in
// the caller's vfw_raster first.
//
// The transforms asked of libpng are only the ones Pillow's own PNG reader also performs while
// unpacking (src/PIL/PngImagePlugin.py _MODES, src/libImaging/Unpack.c): gray below 8 bits scaled to
// 0..255, palette indices below 8 bits unpacked one per byte, Adam7 de-interlaced. No gamma, no tRNS
// expansion (the tRNS values are handed over as they are), no 16-to-8 reduction: the Swift side converts to RGB exactly as Pillow's convert("RGB").

#include "vfw_image_shims.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
    vfw_raster *out;
} png_source;

static void record(vfw_raster *out, int32_t status, const char *msg) {
    if (out->status != VFW_OK) return;  // the first error is the cause; later ones are consequences
    out->status = status;
    snprintf(out->error, sizeof out->error, "%s", msg);
}

static void on_error(png_structp png, png_const_charp msg) {
    png_source *src = (png_source *)png_get_error_ptr(png);
    record(src->out, VFW_ERR_CORRUPT, msg);
    png_longjmp(png, 1);  // back to vfw_png_decode; C frames only
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;  // Pillow ignores the same conditions (bad ancillary chunks, ...)
}

static void on_read(png_structp png, png_bytep dst, size_t n) {
    png_source *src = (png_source *)png_get_io_ptr(png);
    if (src->size - src->pos < n) {
        record(src->out, VFW_ERR_TRUNCATED, "file ends before the image data is complete");
        png_error(png, "truncated");  // calls on_error, which longjmps
    }
    memcpy(dst, src->data + src->pos, n);
    src->pos += n;
}

/// Sums the lengths of the IDAT chunks present in `data` (a chunk cut short by the end of the file counts
/// with the bytes it has). Walks chunk headers only; stops at IEND or at the end of the data.
static uint64_t idat_bytes_present(const uint8_t *data, size_t size) {
    uint64_t total = 0;
    size_t pos = 8;  // after the signature
    while (size >= 8 && pos <= size - 8) {
        uint32_t length = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 |
                          (uint32_t)data[pos + 2] << 8 | (uint32_t)data[pos + 3];
        const uint8_t *type = data + pos + 4;
        size_t body = pos + 8;
        size_t have = size - body;
        if (memcmp(type, "IDAT", 4) == 0) total += length < have ? length : have;
        if (memcmp(type, "IEND", 4) == 0 || (uint64_t)length + 4 >= have) break;
        pos = body + (size_t)length + 4;  // + CRC
    }
    return total;
}

int32_t vfw_png_decode(const uint8_t *data, size_t size, vfw_raster *out) {
    memset(out, 0, sizeof *out);
    png_source src = {data, size, 0, out};

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, on_error, on_warning);
    if (!png) {
        record(out, VFW_ERR_MEMORY, "out of memory");
        return out->status;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        record(out, VFW_ERR_MEMORY, "out of memory");
        return out->status;
    }
    // Modified after setjmp and read after a longjmp, hence volatile.
    png_bytep *volatile rows = NULL;

    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rows);
        free(out->pixels);
        out->pixels = NULL;
        if (out->status == VFW_OK) record(out, VFW_ERR_CORRUPT, "libpng error");
        return out->status;
    }

    png_set_read_fn(png, &src, on_read);
    // libpng mallocs a text or profile chunk's claimed length before reading it (png_read_buffer), so 41
    // bytes whose zTXt chunk claims 2 GB made it allocate 2 GB (Fuzz/README.md, Tests/Fixtures/fuzz/png).
    // png_set_chunk_malloc_max does not stop that in libpng 1.6.39 (an over-long ancillary chunk is only a
    // benign error, then read anyway). vfw uses no ancillary chunk, so libpng skips them all, except tRNS
    // (at most 256 bytes), as unknown chunks: read through a fixed 1 KB buffer, never stored, their CRC
    // still checked (png_crc_finish), so a bad CRC before IDAT still fails as in Pillow.
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);  // and anything libpng still allocates per chunk
    // CRCs as Pillow checks them (PngImagePlugin.py PngImageFile._open / ChunkStream.crc): every
    // chunk before the first IDAT, ancillary ones included, must match, or the file is broken ...
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);
    // ... while IDAT and later chunks are never checked: Pillow decodes a PNG whose IDAT CRC is wrong.
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->source_bit_depth = bit_depth;
    out->color_type = color_type;
    out->interlaced = interlace != PNG_INTERLACE_NONE;

    if ((int64_t)width * (int64_t)height > VFW_MAX_PIXELS) {
        char msg[160];
        snprintf(msg, sizeof msg, "%ux%u is more than %lld pixels (Pillow's decompression-bomb limit)",
                 (unsigned)width, (unsigned)height, (long long)VFW_MAX_PIXELS);
        record(out, VFW_ERR_TOO_LARGE, msg);
        png_destroy_read_struct(&png, &info, NULL);
        return out->status;
    }

    // The raster is allocated before any pixel data is read, so check first that the file holds enough
    // compressed data to fill it: DEFLATE expands at most 1032:1 (a 258-byte match in two 1-bit codes),
    // and the filtered scanlines hold at least width * height * bits-per-pixel / 8 bytes (interlaced or
    // not). A file failing this can only run out of IDAT data part way, which libpng and Pillow both
    // refuse ("Not enough image data" / "image file is truncated"); refusing it first keeps a 69-byte
    // file from allocating a 1.35 GB raster. Memory stays within 1032 x the file size (and the pixel
    // limit above).
    {
        uint64_t file_channels = png_get_channels(png, info);
        uint64_t min_raw = ((uint64_t)width * height * file_channels * (uint64_t)bit_depth) / 8;
        uint64_t idat = idat_bytes_present(data, size);
        if (min_raw > idat * 1032 + 1032) {
            record(out, VFW_ERR_TRUNCATED, "file ends before the image data is complete");
            png_destroy_read_struct(&png, &info, NULL);
            return out->status;
        }
    }

    // tRNS (libpng keeps it whatever the unknown-chunk handling): what transformers' convert_to_rgb
    // composites onto white. libpng drops a tRNS it finds invalid (wrong length for the colour type, or
    // on a type with an alpha channel), which Pillow would also not turn into transparency.
    {
        png_bytep alpha = NULL;
        int count = 0;
        png_color_16p color = NULL;
        if (png_get_tRNS(png, info, &alpha, &count, &color) & PNG_INFO_tRNS) {
            if (color_type == PNG_COLOR_TYPE_PALETTE && alpha && count > 0) {
                if (count > 256) count = 256;
                memcpy(out->trns_alpha, alpha, (size_t)count);
                out->trns_count = count;
            } else if (color_type == PNG_COLOR_TYPE_GRAY && color) {
                out->trns_color[0] = color->gray;
                out->trns_count = 1;
            } else if (color_type == PNG_COLOR_TYPE_RGB && color) {
                out->trns_color[0] = color->red;
                out->trns_color[1] = color->green;
                out->trns_color[2] = color->blue;
                out->trns_count = 1;
            }
        }
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp palette = NULL;
        int count = 0;
        if (png_get_PLTE(png, info, &palette, &count) && palette && count > 0) {
            if (count > 256) count = 256;
            for (int i = 0; i < count; i++) {
                out->palette[i * 3 + 0] = palette[i].red;
                out->palette[i * 3 + 1] = palette[i].green;
                out->palette[i * 3 + 2] = palette[i].blue;
            }
            out->palette_count = count;
        }
        if (bit_depth < 8) png_set_packing(png);  // one index per byte, values unchanged ("P;1/2/4")
    } else if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
        // 1/2/4-bit gray scaled by bit replication: v*255, v*0x55, v*0x11, the same values as
        // Pillow's "1" -> 0/255 and Unpack.c unpackL2/unpackL4.
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, info);

    out->channels = png_get_channels(png, info);
    out->bit_depth = png_get_bit_depth(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if ((out->bit_depth != 8 && out->bit_depth != 16) ||
        row_bytes != (size_t)width * (size_t)out->channels * (size_t)(out->bit_depth / 8)) {
        record(out, VFW_ERR_UNSUPPORTED, "unexpected PNG sample layout");
        png_destroy_read_struct(&png, &info, NULL);
        return out->status;
    }
    out->row_bytes = row_bytes;

    // width*height <= VFW_MAX_PIXELS and at most 8 bytes per pixel: no size_t overflow.
    out->pixels = (uint8_t *)malloc(row_bytes * height + 1);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (height + 1));
    if (!out->pixels || !rows) {
        record(out, VFW_ERR_MEMORY, "out of memory");
        png_error(png, "out of memory");
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = out->pixels + (size_t)y * row_bytes;

    png_read_image(png, rows);
    // No png_read_end: Pillow stops once the pixels are in (PngImageFile.load_end tolerates a
    // damaged or missing tail, e.g. no IEND), and so does vfw.

    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    return VFW_OK;
}

void vfw_raster_free(vfw_raster *r) {
    if (!r) return;
    free(r->pixels);
    r->pixels = NULL;
}

const char *vfw_libpng_version(void) { return png_get_libpng_ver(NULL); }
