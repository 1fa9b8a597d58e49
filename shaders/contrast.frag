// Lucid Sonic Dreams' contrast effect = PIL ImageEnhance.Contrast(img).enhance(1 + amp * strength):
// blend from a grey image at the (rounded) mean luma of the input towards the input, clamped.
void main() {
    vec3 img = texture(u_input, v_uv).rgb;
    float mean = vj_input_mean_luma();
    float factor = 1.0 + u_amp * u_strength;
    f_color = vec4(clamp(vec3(mean) + factor * (img - vec3(mean)), 0.0, 1.0), 1.0);
}
