FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/dsrdesk ./cmd/dsrdesk

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dsrdesk /usr/local/bin/dsrdesk
COPY examples /etc/dsrdesk/examples
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/dsrdesk"]
CMD ["serve"]
