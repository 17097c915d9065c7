//! Tower middleware that records `quay_request_duration_seconds{method, route, status,
//! namespace_name}`.
//!
//! Like Quay's `timed_blueprint`, the duration runs from the request's arrival to the moment
//! the handler returns its response (headers), not to the end of a streamed body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::{Method, Request, Response};

use crate::route::{route_for, RouteName};
use crate::Metrics;

/// Layer returned by [`Metrics::http_layer`].
#[derive(Debug, Clone)]
pub struct HttpMetricsLayer {
    metrics: Metrics,
}

impl HttpMetricsLayer {
    pub(crate) fn new(metrics: Metrics) -> HttpMetricsLayer {
        HttpMetricsLayer { metrics }
    }
}

impl<S> tower::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> HttpMetricsService<S> {
        HttpMetricsService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// Service produced by [`HttpMetricsLayer`].
#[derive(Debug, Clone)]
pub struct HttpMetricsService<S> {
    inner: S,
    metrics: Metrics,
}

/// The method label: the standard methods by name, anything else as `OTHER` (a client can
/// send any token as a method; the label must stay bounded).
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for HttpMetricsService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let method = method_label(req.method());
        let info = route_for(method, req.uri().path());
        let route = info.route;
        let namespace_name = self.metrics.tracked_label(info.namespace).to_owned();
        ResponseFuture {
            inner: Box::pin(self.inner.call(req)),
            start: Instant::now(),
            metrics: self.metrics.clone(),
            method,
            route,
            namespace_name,
        }
    }
}

/// Future returned by [`HttpMetricsService`].
pub struct ResponseFuture<F> {
    inner: Pin<Box<F>>,
    start: Instant,
    metrics: Metrics,
    method: &'static str,
    route: &'static str,
    namespace_name: String,
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = match this.inner.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        if let Ok(response) = &result {
            let route = response
                .extensions()
                .get::<RouteName>()
                .map_or(this.route, |r| r.0);
            this.metrics.observe_request(
                this.method,
                route,
                response.status().as_u16(),
                &this.namespace_name,
                this.start.elapsed().as_secs_f64(),
            );
        }
        Poll::Ready(result)
    }
}
