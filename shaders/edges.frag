// Edges (Sobel on luma, the SnowGAN look): bright lines where the picture changes, black where it
// is flat. Edge gain 1 + 3 * u_amp; u_strength blends from the input (0) to the edge image (1).
// Four bilinear taps at the pixel's corners give the exact 3x3 Sobel sums: each tap averages a
// 2x2 block, and the middle row / column cancels.
void main() {
    vec2 t = 0.5 / u_resolution;
    float a = vj_luma(texture(u_input, v_uv + vec2(-t.x, -t.y)).rgb);
    float b = vj_luma(texture(u_input, v_uv + vec2(t.x, -t.y)).rgb);
    float c = vj_luma(texture(u_input, v_uv + vec2(-t.x, t.y)).rgb);
    float d = vj_luma(texture(u_input, v_uv + vec2(t.x, t.y)).rgb);
    vec2 g = vec2((b + d) - (a + c), (c + d) - (a + b));  // Sobel / 4: a unit step gives 1
    float e = clamp(length(g) * (1.0 + 3.0 * u_amp), 0.0, 1.0);
    vec3 img = texture(u_input, v_uv).rgb;
    f_color = vec4(mix(img, vec3(e), clamp(u_strength, 0.0, 1.0)), 1.0);
}
