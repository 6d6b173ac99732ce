// JPEG through libjpeg(-turbo), with libjpeg's fatal errors longjmp'ing only within this file.
//
// libjpeg calls err->error_exit on a fatal error and expects it not to return. Ours formats the
// message into the caller's vfw_raster and longjmps to the setjmp in vfw_jpeg_decode; all frames in
// between are libjpeg's (C), so no Swift frame is ever skipped.
//
// Decoder settings are Pillow's (src/libImaging/JpegDecode.c, ImagingJpegDecode): libjpeg's default
// jpeg_color_space guess, out_color_space JCS_GRAYSCALE / JCS_RGB / JCS_CMYK for 1 / 3 / 4 components
// (Pillow's rawmodes "L", "RGB", "CMYK;I"), the default DCT (JDCT_ISLOW) and fancy upsampling (Pillow
// only changes them in draft mode), no scaling. EXIF orientation is not applied (nor does Pillow).

#include "vfw_image_shims.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int hit_eof;  // jpeg_mem_src ran out of data (JWRN_JPEG_EOF) at least once
    vfw_raster *out;
} vfw_jpeg_error;

static void record(vfw_raster *out, int32_t status, const char *msg) {
    if (out->status != VFW_OK) return;
    out->status = status;
    snprintf(out->error, sizeof out->error, "%s", msg);
}

static void on_error_exit(j_common_ptr cinfo) {
    vfw_jpeg_error *err = (vfw_jpeg_error *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    int code = cinfo->err->msg_code;
    int32_t status = VFW_ERR_CORRUPT;
    if (err->hit_eof || code == JERR_INPUT_EMPTY || code == JERR_INPUT_EOF) {
        status = VFW_ERR_TRUNCATED;
    } else if (code == JERR_BAD_PRECISION) {
        status = VFW_ERR_UNSUPPORTED;  // 12/16-bit JPEG; Pillow: "cannot handle 12-bit layers"
    }
    record(err->out, status, status == VFW_ERR_TRUNCATED ? "file ends before the image data is complete" : msg);
    longjmp(err->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    vfw_jpeg_error *err = (vfw_jpeg_error *)cinfo->err;
    if (level < 0) {
        // Warnings (corrupt entropy data, extraneous bytes, ...) do not stop Pillow, which decodes
        // what libjpeg recovers; running out of data does (ImageFile.load: "image file is truncated").
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) err->hit_eof = 1;
        cinfo->err->num_warnings++;
    }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

/// vfw's own rule for Huffman-coded files, stricter than Pillow: every component of the frame must be coded
/// by some DC or sequential scan (Ss = 0), and each such scan must hold at least one bit per 8x8 block it
/// codes. Returns 0 and writes `msg` when the file breaks it.
///
/// Why: the output raster, and for progressive files libjpeg's whole-image coefficient buffer (2 bytes per
/// sample), are sized from the frame header before any scan data is decoded, and libjpeg fills what a scan
/// lacks with zeros (warning "premature end of data segment", which Pillow ignores) and leaves components no
/// scan codes flat. So 144 bytes claiming 13000x13000 cost ~900 MB and seconds (Tests/Fixtures/fuzz/jpeg).
/// Every complete Huffman-coded file obeys the rule: a sequential scan codes a DC and an AC symbol per block,
/// a progressive DC scan a DC symbol or a correction bit per block, Huffman codes are 1 to 16 bits long, and
/// each component's DC coefficients must be coded before its AC ones (ITU-T T.81 Annex G). As the component
/// with the largest sampling factors covers the whole image, a file then claims at most 8 x 64 = 512 pixels
/// per byte it holds.
///
/// Marker walk as libjpeg's next_marker (jdmarker.c): garbage before a 0xFF is skipped, 0xFF fill bytes
/// too; a scan's entropy-coded data runs to the first marker that is neither a stuffed 0xFF00 nor a restart
/// marker RST0-7. Data counts as the bytes present (stuffing included: an upper bound on the bits).
static int check_scan_data(const struct jpeg_decompress_struct *cinfo, const uint8_t *data, size_t size,
                           char *msg, size_t msg_size) {
    int coded[MAX_COMPONENTS] = {0};
    size_t pos = 2;  // after SOI
    while (pos < size) {
        while (pos < size && data[pos] != 0xFF) pos++;  // garbage (libjpeg warns and skips it)
        while (pos < size && data[pos] == 0xFF) pos++;  // fill bytes
        if (pos >= size) break;
        uint8_t m = data[pos++];
        if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue;  // standalone markers
        if (m == 0xD9) break;                                                 // EOI
        if (size - pos < 2) break;
        size_t length = (size_t)data[pos] << 8 | data[pos + 1];
        if (length < 2 || length > size - pos) break;  // libjpeg reports the damage itself
        const uint8_t *seg = data + pos + 2;
        size_t seg_len = length - 2;
        pos += length;
        if (m != 0xDA) continue;  // not SOS
        // SOS: Ns, Ns x (component selector, tables), Ss, Se, Ah/Al.
        if (seg_len < 1 || seg_len < 1 + 2 * (size_t)seg[0] + 3) break;
        int ns = seg[0];
        int ss = seg[1 + 2 * ns];
        size_t entropy = 0;
        while (pos < size) {
            if (data[pos] == 0xFF && pos + 1 < size) {
                uint8_t next = data[pos + 1];
                if (next != 0x00 && !(next >= 0xD0 && next <= 0xD7) && next != 0xFF) break;
            }
            pos++;
            entropy++;
        }
        if (ss != 0) continue;  // a progressive AC scan: end-of-band runs code up to 32767 blocks in a symbol
        uint64_t blocks = 0;
        for (int i = 0; i < ns; i++) {
            int id = seg[1 + 2 * i];
            for (int c = 0; c < cinfo->num_components && c < MAX_COMPONENTS; c++) {
                const jpeg_component_info *comp = &cinfo->comp_info[c];
                if (comp->component_id != id) continue;
                blocks += (uint64_t)comp->width_in_blocks * (uint64_t)comp->height_in_blocks;
                coded[c] = 1;
            }
        }
        if (blocks > (uint64_t)entropy * 8) {
            snprintf(msg, msg_size,
                     "%ux%u JPEG with a scan of %zu bytes for %llu 8x8 blocks (at least one bit each): "
                     "image data missing",
                     (unsigned)cinfo->image_width, (unsigned)cinfo->image_height, entropy,
                     (unsigned long long)blocks);
            return 0;
        }
    }
    for (int c = 0; c < cinfo->num_components && c < MAX_COMPONENTS; c++) {
        if (!coded[c]) {
            snprintf(msg, msg_size, "%ux%u JPEG whose component %d is coded by no DC scan: image data missing",
                     (unsigned)cinfo->image_width, (unsigned)cinfo->image_height,
                     cinfo->comp_info[c].component_id);
            return 0;
        }
    }
    return 1;
}

int32_t vfw_jpeg_decode(const uint8_t *data, size_t size, vfw_raster *out) {
    memset(out, 0, sizeof *out);
    struct jpeg_decompress_struct cinfo;
    vfw_jpeg_error err;
    memset(&err, 0, sizeof err);
    err.out = out;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error_exit;
    err.pub.emit_message = on_emit_message;
    err.pub.output_message = on_output_message;

    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(out->pixels);
        out->pixels = NULL;
        if (out->status == VFW_OK) record(out, VFW_ERR_CORRUPT, "libjpeg error");
        return out->status;
    }

    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (unsigned char *)data, (unsigned long)size);

    // As Pillow: skip tables-only datastreams until one with an image.
    while (jpeg_read_header(&cinfo, FALSE) == JPEG_HEADER_TABLES_ONLY) {
        if (err.hit_eof) {
            record(out, VFW_ERR_CORRUPT, "JPEG datastream contains no image");
            longjmp(err.jump, 1);
        }
    }

    out->width = (int32_t)cinfo.image_width;
    out->height = (int32_t)cinfo.image_height;
    out->source_bit_depth = cinfo.data_precision;
    out->progressive = cinfo.progressive_mode ? 1 : 0;

    switch (cinfo.num_components) {
        case 1: cinfo.out_color_space = JCS_GRAYSCALE; out->color_type = 0; break;
        case 3: cinfo.out_color_space = JCS_RGB; out->color_type = 2; break;
        case 4: cinfo.out_color_space = JCS_CMYK; out->color_type = 5; break;
        default: {
            char msg[80];
            snprintf(msg, sizeof msg, "JPEG with %d components", cinfo.num_components);
            record(out, VFW_ERR_UNSUPPORTED, msg);
            longjmp(err.jump, 1);
        }
    }
    if ((int64_t)cinfo.image_width * (int64_t)cinfo.image_height > VFW_MAX_PIXELS) {
        char msg[160];
        snprintf(msg, sizeof msg, "%ux%u is more than %lld pixels (Pillow's decompression-bomb limit)",
                 (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, (long long)VFW_MAX_PIXELS);
        record(out, VFW_ERR_TOO_LARGE, msg);
        longjmp(err.jump, 1);
    }
    // Refuse before allocating if the scans cannot hold the pixels the frame header claims (see
    // check_scan_data). Arithmetic-coded files can code a block in a small fraction of a bit, so for them
    // (rare) only the pixel limit above applies, as in Pillow.
    if (!cinfo.arith_code) {
        char msg[200];
        if (!check_scan_data(&cinfo, data, size, msg, sizeof msg)) {
            record(out, VFW_ERR_CORRUPT, msg);
            longjmp(err.jump, 1);
        }
    }

    cinfo.dct_method = JDCT_ISLOW;       // libjpeg's default; Pillow changes it only in draft mode
    cinfo.do_fancy_upsampling = TRUE;    // likewise
    cinfo.scale_num = 1;
    cinfo.scale_denom = 1;

    jpeg_start_decompress(&cinfo);  // progressive files are read in full here

    out->channels = cinfo.output_components;
    out->bit_depth = 8;
    out->row_bytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    if ((int32_t)cinfo.output_width != out->width || (int32_t)cinfo.output_height != out->height) {
        record(out, VFW_ERR_UNSUPPORTED, "libjpeg changed the output size");
        longjmp(err.jump, 1);
    }
    out->pixels = (uint8_t *)malloc(out->row_bytes * cinfo.output_height + 1);
    if (!out->pixels) {
        record(out, VFW_ERR_MEMORY, "out of memory");
        longjmp(err.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->pixels + (size_t)cinfo.output_scanline * out->row_bytes;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            record(out, VFW_ERR_CORRUPT, "libjpeg returned no scanline");
            longjmp(err.jump, 1);
        }
    }
    if (err.hit_eof) {
        // libjpeg padded the missing data (grey); Pillow refuses such a file and so does vfw.
        record(out, VFW_ERR_TRUNCATED, "file ends before the image data is complete");
        longjmp(err.jump, 1);
    }
    jpeg_finish_decompress(&cinfo);  // a missing EOI after the last row only warns, as in Pillow
    jpeg_destroy_decompress(&cinfo);
    return VFW_OK;
}

int32_t vfw_libjpeg_version(void) {
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    return LIBJPEG_TURBO_VERSION_NUMBER;
#else
    return JPEG_LIB_VERSION;
#endif
}
