/**
 * The Weft Java SDK: publish context objects to the local {@code weftd} sidecar without
 * ever blocking the application, and watch or query its collated views.
 *
 * <p>Start with {@link io.weft.sdk.Weft}: {@code Weft.connect()}, then
 * {@code weft.context("app.request").open()} for a {@link io.weft.sdk.Context},
 * {@code weft.objects(filter)} / {@code weft.messages(filter)} for a
 * {@link io.weft.sdk.Monitor}. Every failure the SDK reports is a
 * {@link io.weft.sdk.WeftException} carrying weftd's reason code.
 */
package io.weft.sdk;
